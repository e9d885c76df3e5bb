/* perforch-launch: run a command, sample its memory every 1 ms, report true peaks.
 *
 * A tiny process of its own, so the child's ru_maxrss is the child's: Linux carries a parent's
 * RSS high-water mark into a forked child across exec (every child of a 200 MB Python process
 * reported 218 MB, even /bin/true). Samples /proc/<pid>/status against absolute 1 ms deadlines
 * (RssAnon, VmData + VmStk), then prints one line on stderr, after the child's own output:
 *   PERFORCH_FOOTPRINT {"exit": …, "signal": …, "peak_rss_kb": …, …, "cpu_us": …, "wall_us": …}
 * (cpu_us: user + system CPU time of the child and every descendant it waited for, all threads)
 * and exits with the child's status (128 + signal when it was killed).
 *
 * ``perforch-launch --tree COMMAND [ARG...]`` samples the whole process tree instead (the sums
 * over the child and every descendant alive at the sample, found through
 * /proc/PID/task/TID/children): a project's tests run as a shell loop or one process per test.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long field_kb(const char *status, const char *name) {
    const char *at = strstr(status, name);
    return at ? strtol(at + strlen(name), NULL, 10) : 0;
}

#include <dirent.h>

#define MAX_TREE 512 /* processes summed per sample, at most */

static long read_file(const char *path, char *buf, size_t size) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, size - 1);
    close(fd);
    if (n < 0) return -1;
    buf[n] = 0;
    return n;
}

/* Adds the RssAnon and VmData + VmStk of ``pid`` and its descendants; returns whether ``pid``
 * itself was still alive (a zombie reports no Vm fields). */
static int tree_sample(pid_t pid, long *anon, long *vm, int *seen) {
    char path[96], buf[4096];
    if (*seen >= MAX_TREE) return 0;
    (*seen)++;
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    if (read_file(path, buf, sizeof buf) <= 0) return 0;
    long v = field_kb(buf, "VmData:") + field_kb(buf, "VmStk:");
    if (v <= 0) return 0;
    *anon += field_kb(buf, "RssAnon:");
    *vm += v;
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *tasks = opendir(path);
    if (tasks == NULL) return 1;
    struct dirent *task;
    while ((task = readdir(tasks)) != NULL) {
        if (task->d_name[0] == '.') continue;
        char children[4096];
        snprintf(path, sizeof path, "/proc/%d/task/%.16s/children", (int)pid, task->d_name);
        if (read_file(path, children, sizeof children) <= 0) continue;
        for (char *at = children, *end; *at; at = end) {
            long child = strtol(at, &end, 10);
            if (end == at) break;
            if (child > 0) tree_sample((pid_t)child, anon, vm, seen);
        }
    }
    closedir(tasks);
    return 1;
}

int main(int argc, char **argv) {
    int tree = argc > 1 && strcmp(argv[1], "--tree") == 0;
    if (tree) {
        argv++;
        argc--;
    }
    if (argc < 2) {
        fprintf(stderr, "usage: perforch-launch [--tree] COMMAND [ARG...]\n");
        return 2;
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("perforch-launch: fork");
        return 2;
    }
    if (pid == 0) {
        execvp(argv[1], argv + 1);
        perror("perforch-launch: exec");
        _exit(127);
    }
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    long samples = 0, peak_vm = 0;
    double sum_anon = 0, sum_vm = 0;
    struct timespec next, started, ended;
    clock_gettime(CLOCK_MONOTONIC, &next);
    started = next;
    int status = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    for (;;) {
        pid_t done = wait4(pid, &status, WNOHANG, &ru);
        if (done == pid) break;
        if (done < 0 && errno != EINTR) break;
        if (tree) {
            long anon = 0, vm = 0;
            int seen = 0;
            if (tree_sample(pid, &anon, &vm, &seen)) {
                samples++;
                sum_anon += anon;
                sum_vm += vm;
                if (vm > peak_vm) peak_vm = vm;
            }
        } else if (fd >= 0) {
            ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
            if (n > 0) {
                buf[n] = 0;
                long anon = field_kb(buf, "RssAnon:");
                long vm = field_kb(buf, "VmData:") + field_kb(buf, "VmStk:");
                if (vm > 0) { /* a zombie reports no Vm fields */
                    samples++;
                    sum_anon += anon;
                    sum_vm += vm;
                    if (vm > peak_vm) peak_vm = vm;
                }
            }
        }
        next.tv_nsec += 1000000;
        if (next.tv_nsec >= 1000000000) {
            next.tv_sec++;
            next.tv_nsec -= 1000000000;
        }
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
    }
    clock_gettime(CLOCK_MONOTONIC, &ended);
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    long cpu_us = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000L + ru.ru_utime.tv_usec +
                  ru.ru_stime.tv_usec;
    long wall_us = (ended.tv_sec - started.tv_sec) * 1000000L +
                   (ended.tv_nsec - started.tv_nsec) / 1000L;
    fprintf(stderr,
            "\nPERFORCH_FOOTPRINT {\"exit\": %d, \"signal\": %d, \"peak_rss_kb\": %ld, "
            "\"mean_rss_anon_kb\": %.1f, \"peak_vm_data_stk_kb\": %ld, "
            "\"mean_vm_data_stk_kb\": %.1f, \"samples\": %ld, \"cpu_us\": %ld, "
            "\"wall_us\": %ld}\n",
            WIFEXITED(status) ? WEXITSTATUS(status) : -1,
            WIFSIGNALED(status) ? WTERMSIG(status) : 0, ru.ru_maxrss,
            samples ? sum_anon / samples : 0.0, peak_vm, samples ? sum_vm / samples : 0.0,
            samples, cpu_us, wall_us);
    return code;
}
