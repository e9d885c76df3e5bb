// PerfOrch's measuring driver for C++, contract 2 (profiler/harness/contract.py says what each
// command reads and prints). Built into one program after both sides' tests and a sides file
// that defines perforch_side(): 0 runs the baseline's tests (or its generated workload), 1 the
// candidate's, 2 nothing; perforch_prepare(), called before anything is timed (it reads a
// workload's inputs); and perforch_serve() / perforch_arity(), the function called on one
// generated input at a time (``serve``, for py_workload.py; workload builds only).
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <algorithm>
#include <new>
#include <random>
#include <string>
#include <vector>

int perforch_side(int which);
void perforch_prepare();
bool perforch_serve(int which, const char* payload, size_t n, std::string& reply);
long perforch_arity();
bool perforch_mutates();

static const int PERFORCH_CONTRACT = 2;

// Counting allocator: live and peak heap bytes of everything allocated with new.
static long perforch_live = 0, perforch_peak = 0;
void* operator new(size_t n) {
    void* p = malloc(n ? n : 1);
    if (!p) throw std::bad_alloc();
    perforch_live += malloc_usable_size(p);
    if (perforch_live > perforch_peak) perforch_peak = perforch_live;
    return p;
}
void* operator new[](size_t n) { return operator new(n); }
void operator delete(void* p) noexcept {
    if (p) {
        perforch_live -= malloc_usable_size(p);
        free(p);
    }
}
void operator delete[](void* p) noexcept { operator delete(p); }
void operator delete(void* p, size_t) noexcept { operator delete(p); }
void operator delete[](void* p, size_t) noexcept { operator delete(p); }

static double perforch_clock(clockid_t id) {
    timespec ts;
    clock_gettime(id, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}
// The whole process's CPU time: work a candidate hands to other threads counts too.
static double perforch_cpu_ns() { return perforch_clock(CLOCK_PROCESS_CPUTIME_ID); }
static double perforch_wall_ns() { return perforch_clock(CLOCK_MONOTONIC); }

namespace perforch_io {  // what workload_io.hpp's answer() reads
double perforch_cpu_ns_now() { return perforch_cpu_ns(); }
long perforch_peak_start() {
    perforch_peak = perforch_live;
    return perforch_live;
}
long perforch_peak_since(long base) { return perforch_peak - base; }
}  // namespace perforch_io

// ``serve``: one line "call SIDE N" then N bytes of encoded arguments per call; one JSON line
// back per call, after a first line saying the function's arity.
static int perforch_serve_loop() {
    std::printf("{\"arity\": %ld, \"mutates\": %s}\n", perforch_arity(),
                perforch_mutates() ? "true" : "false");
    std::fflush(stdout);
    char line[128];
    while (std::fgets(line, sizeof line, stdin)) {
        int side = 0;
        size_t n = 0;
        if (std::sscanf(line, "call %d %zu", &side, &n) != 2) return 2;
        std::string payload(n, '\0');
        if (n && std::fread(&payload[0], 1, n, stdin) != n) return 2;
        std::string reply;
        if (!perforch_serve(side, payload.data(), n, reply)) return 2;
        reply += '\n';
        std::fwrite(reply.data(), 1, reply.size(), stdout);
        std::fflush(stdout);
    }
    return 0;
}

static volatile int perforch_sink;
static void perforch_run(int which) { perforch_sink = perforch_side(which); }

static double perforch_last_wall = 0;  // the wall time of the last batch

static double perforch_batch(int which, long k, bool util) {
    double w0 = perforch_wall_ns(), c0 = perforch_cpu_ns();
    for (long i = 0; i < k; i++) perforch_run(which);
    double cpu = perforch_cpu_ns() - c0, wall = perforch_wall_ns() - w0;
    perforch_last_wall = wall;
    return util ? (wall > 0 ? cpu / wall : 1.0) : cpu;
}

static double perforch_allocated(int which, double floor_bytes) {
    long base = perforch_live;
    perforch_peak = perforch_live;
    perforch_run(which);
    double v = (double)(perforch_peak - base);
    return v < floor_bytes ? floor_bytes : v;
}

static double perforch_median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int perforch_usage(const char* why) {
    fprintf(stderr,
            "%s\nusage: prog measure 2 MODE PAIRS SEED TARGET_NS FLOOR_BYTES WARMUP_NS MAX_K"
            " | hold 2 SIDE CPU_NS WALL_NS | count 2 SIDE N | serve 2\n",
            why);
    return 2;
}

int main(int argc, char** argv) {
    if (argc < 3) return perforch_usage("no command");
    if (atoi(argv[2]) != PERFORCH_CONTRACT) return perforch_usage("this driver speaks contract 2");
    const char* command = argv[1];
    if (strcmp(command, "serve") == 0) return perforch_serve_loop();
    perforch_prepare();
    if (strcmp(command, "hold") == 0 && argc == 6) {
        int side = atoi(argv[3]);
        double cpu_ns = atof(argv[4]), wall_ns = atof(argv[5]);
        double c0 = perforch_cpu_ns(), w0 = perforch_wall_ns();
        do {
            if (side < 2) perforch_run(side);
        } while (perforch_cpu_ns() - c0 < cpu_ns && perforch_wall_ns() - w0 < wall_ns);
        return 0;
    }
    if (strcmp(command, "count") == 0 && argc == 5) {
        int side = atoi(argv[3]);
        for (long i = 0, n = atol(argv[4]); side < 2 && i < n; i++) perforch_run(side);
        return 0;
    }
    if (strcmp(command, "measure") != 0 || argc != 10) return perforch_usage("bad command");
    const char* mode = argv[3];
    const bool util = strcmp(mode, "cpu_per_wall") == 0, bytes = strcmp(mode, "allocated") == 0;
    if (!util && !bytes && strcmp(mode, "cpu_time") != 0) return perforch_usage("unknown mode");
    const int pairs = atoi(argv[4]);
    const double target_ns = atof(argv[6]), floor_bytes = atof(argv[7]), warmup_ns = atof(argv[8]);
    const long max_k = atol(argv[9]);
    if (pairs < 1) return perforch_usage("PAIRS must be at least 1");
    // The first and second runs of each side, before anything else: a candidate that keeps
    // results between calls is much cheaper the second time than the baseline is.
    double first[2], second[2];
    for (int side = 0; side < 2; side++) first[side] = perforch_batch(side, 1, false);
    for (int side = 0; side < 2; side++) second[side] = perforch_batch(side, 1, false);
    // K runs per batch: double until the slower side's batch costs a quarter of the target,
    // then scale (the slower side, so that neither side's batches run long whichever is first).
    long k = 1;
    double t;
    auto slower = [](long n) {
        return std::max(perforch_batch(0, n, false), perforch_batch(1, n, false));
    };
    while ((t = slower(k)) < target_ns / 4 && k < max_k) k *= 2;
    if (t > 0 && t < target_ns) k = std::min(max_k, (long)(k * (target_ns / t)) + 1);
    if (warmup_ns > 0) {
        for (double w0 = perforch_wall_ns(); perforch_wall_ns() - w0 < warmup_ns;) {
            perforch_batch(0, k, false);
            perforch_batch(1, k, false);
        }
    } else {
        for (int w = 0; w < 2; w++) {
            perforch_batch(0, k, false);
            perforch_batch(1, k, false);
        }
    }
    std::mt19937 rng(atoi(argv[5]));
    std::vector<double> ratios(pairs), va(pairs), vb(pairs), wa(pairs), wb(pairs);
    for (int p = 0; p < pairs; p++) {
        int lead = rng() & 1;
        double v[2], w[2] = {0, 0};
        for (int side : {lead, 1 - lead}) {
            v[side] = bytes ? perforch_allocated(side, floor_bytes) : perforch_batch(side, k, util);
            if (!bytes) w[side] = perforch_last_wall / (double)k;
        }
        double per = util || bytes ? 1.0 : (double)k;
        va[p] = v[0] / per;
        vb[p] = v[1] / per;
        wa[p] = w[0];
        wb[p] = w[1];
        ratios[p] = v[0] / v[1];
    }
    printf("PERFORCH_RESULT {\"contract\": %d, \"ratio\": %.9g, \"baseline\": %.9g, "
           "\"candidate\": %.9g, \"unit\": \"%s\", \"k\": %ld, \"wall_baseline\": %.9g, "
           "\"wall_candidate\": %.9g, \"first\": [%.9g, %.9g], \"second\": [%.9g, %.9g]}\n",
           PERFORCH_CONTRACT, perforch_median(ratios), perforch_median(va), perforch_median(vb),
           bytes ? "B" : (util ? "ratio" : "ns"), k, perforch_median(wa), perforch_median(wb),
           first[0], first[1], second[0], second[1]);
    return 0;
}
