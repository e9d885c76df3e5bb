/* The process's CPU time for the Java drivers (PerforchBench, PerforchJUnitBench), through
 * JNI: the JVM's own process clock (OperatingSystemMXBean.getProcessCpuTime) counts in 10 ms
 * ticks, and summing ThreadMXBean's per-thread clocks misses threads that have ended. */
#include <jni.h>
#include <time.h>

static jlong perforch_process_cpu_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (jlong)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

JNIEXPORT jlong JNICALL Java_PerforchBench_processCpuNanos(JNIEnv *env, jclass cls) {
    (void)env;
    (void)cls;
    return perforch_process_cpu_ns();
}

JNIEXPORT jlong JNICALL Java_PerforchJUnitBench_processCpuNanos(JNIEnv *env, jclass cls) {
    (void)env;
    (void)cls;
    return perforch_process_cpu_ns();
}
