// PerfOrch's measuring driver for Rust, contract 2 (profiler/harness/contract.py says what each
// command reads and prints). Built into one program after both sides' tests and a sides item
// that defines perforch_side(): 0 runs the baseline's tests (or its generated workload), 1 the
// candidate's, 2 nothing; perforch_prepare(), called before anything is timed (it reads a
// workload's inputs); perforch_serve() with PERFORCH_ARITY and PERFORCH_MUTATES, the function
// called on one generated input at a time (``serve``; workload builds only).
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

const PERFORCH_CONTRACT: u64 = 2;

// Counting allocator: live and peak heap bytes of everything the program allocates.
struct PerforchAlloc;
static PERFORCH_LIVE: AtomicUsize = AtomicUsize::new(0);
static PERFORCH_PEAK: AtomicUsize = AtomicUsize::new(0);
fn perforch_grew(n: usize) {
    let live = PERFORCH_LIVE.fetch_add(n, Relaxed) + n;
    PERFORCH_PEAK.fetch_max(live, Relaxed);
}
unsafe impl GlobalAlloc for PerforchAlloc {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = System.alloc(l);
        if !p.is_null() {
            perforch_grew(l.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(l);
        if !p.is_null() {
            perforch_grew(l.size());
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        System.dealloc(p, l);
        PERFORCH_LIVE.fetch_sub(l.size(), Relaxed);
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        let q = System.realloc(p, l, new);
        if !q.is_null() {
            PERFORCH_LIVE.fetch_sub(l.size(), Relaxed);
            perforch_grew(new);
        }
        q
    }
}
#[global_allocator]
static PERFORCH_ALLOC: PerforchAlloc = PerforchAlloc;

#[repr(C)]
struct PerforchTimespec {
    tv_sec: i64,
    tv_nsec: i64,
}
extern "C" {
    fn clock_gettime(clock: i32, tp: *mut PerforchTimespec) -> i32;
}
const PERFORCH_MONOTONIC: i32 = 1;
// The whole process's CPU time: work a candidate hands to other threads counts too.
const PERFORCH_PROCESS_CPU: i32 = 2;
fn perforch_clock(id: i32) -> f64 {
    let mut ts = PerforchTimespec { tv_sec: 0, tv_nsec: 0 };
    unsafe {
        clock_gettime(id, &mut ts);
    }
    ts.tv_sec as f64 * 1e9 + ts.tv_nsec as f64
}

static PERFORCH_LAST_WALL: std::sync::Mutex<f64> = std::sync::Mutex::new(0.0);

fn perforch_batch(which: usize, k: u64, util: bool) -> f64 {
    let (w0, c0) = (perforch_clock(PERFORCH_MONOTONIC), perforch_clock(PERFORCH_PROCESS_CPU));
    for _ in 0..k {
        perforch_side(which);
    }
    let cpu = perforch_clock(PERFORCH_PROCESS_CPU) - c0;
    let wall = perforch_clock(PERFORCH_MONOTONIC) - w0;
    *PERFORCH_LAST_WALL.lock().unwrap() = wall;
    if util {
        if wall > 0.0 {
            cpu / wall
        } else {
            1.0
        }
    } else {
        cpu
    }
}

fn perforch_allocated(which: usize, floor_bytes: f64) -> f64 {
    let base = PERFORCH_LIVE.load(Relaxed);
    PERFORCH_PEAK.store(base, Relaxed);
    perforch_side(which);
    let v = PERFORCH_PEAK.load(Relaxed).saturating_sub(base) as f64;
    if v < floor_bytes {
        floor_bytes
    } else {
        v
    }
}

fn perforch_median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn perforch_usage(why: &str) -> ! {
    eprintln!(
        "{}\nusage: prog measure 2 MODE PAIRS SEED TARGET_NS FLOOR_BYTES WARMUP_NS MAX_K \
         | hold 2 SIDE CPU_NS WALL_NS | count 2 SIDE N | serve 2",
        why
    );
    std::process::exit(2);
}

// ``serve``: a line "call SIDE N" and N bytes per call, one JSON line back per call, after a
// first line saying the function's arity.
fn perforch_serve_loop() {
    use std::io::{BufRead, Read, Write};
    std::panic::set_hook(Box::new(|_| {})); // a panic is the reply's "raised", not stderr
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{{\"arity\": {}, \"mutates\": {}}}", PERFORCH_ARITY, PERFORCH_MUTATES);
    let _ = out.flush();
    loop {
        let mut line = String::new();
        if input.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let parts: Vec<&str> = line.split_whitespace().collect();
        let (side, n) = match (parts.first(), parts.get(1), parts.get(2)) {
            (Some(&"call"), Some(s), Some(n)) => match (s.parse::<usize>(), n.parse::<usize>()) {
                (Ok(s), Ok(n)) => (s, n),
                _ => std::process::exit(2),
            },
            _ => std::process::exit(2),
        };
        let mut payload = vec![0u8; n];
        if input.read_exact(&mut payload).is_err() {
            std::process::exit(2);
        }
        match perforch_serve(side, &payload) {
            Some(reply) => {
                let _ = writeln!(out, "{}", reply);
                let _ = out.flush();
            }
            None => std::process::exit(2),
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let num = |i: usize| -> f64 {
        match args.get(i).map(|s| s.parse::<f64>()) {
            Some(Ok(v)) => v,
            _ => perforch_usage("a number is missing or malformed"),
        }
    };
    if args.len() < 3 {
        perforch_usage("no command");
    }
    if num(2) as u64 != PERFORCH_CONTRACT {
        perforch_usage("this driver speaks contract 2");
    }
    if args[1] == "serve" {
        perforch_serve_loop();
        return;
    }
    perforch_prepare();
    match (args[1].as_str(), args.len()) {
        ("hold", 6) => {
            let (side, cpu_ns, wall_ns) = (num(3) as usize, num(4), num(5));
            let (c0, w0) = (perforch_clock(PERFORCH_PROCESS_CPU), perforch_clock(PERFORCH_MONOTONIC));
            while perforch_clock(PERFORCH_PROCESS_CPU) - c0 < cpu_ns
                && perforch_clock(PERFORCH_MONOTONIC) - w0 < wall_ns
            {
                perforch_side(side);
            }
            return;
        }
        ("count", 5) => {
            for _ in 0..num(4) as u64 {
                perforch_side(num(3) as usize);
            }
            return;
        }
        ("measure", 10) => {}
        _ => perforch_usage("bad command"),
    }
    let (util, bytes) = match args[3].as_str() {
        "cpu_time" => (false, false),
        "cpu_per_wall" => (true, false),
        "allocated" => (false, true),
        _ => perforch_usage("unknown mode"),
    };
    let pairs = num(4) as usize;
    if pairs < 1 {
        perforch_usage("PAIRS must be at least 1");
    }
    let mut seed: u64 = (num(5) as u64)
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let (target_ns, floor_bytes, warmup_ns, max_k) = (num(6), num(7), num(8), num(9) as u64);
    // The first and second runs of each side, before anything else: a candidate that keeps
    // results between calls is much cheaper the second time than the baseline is.
    let first = [perforch_batch(0, 1, false), perforch_batch(1, 1, false)];
    let second = [perforch_batch(0, 1, false), perforch_batch(1, 1, false)];
    // K runs per batch: double until the slower side's batch costs a quarter of the target,
    // then scale (the slower side, so that neither side's batches run long whichever is first).
    let slower = |n: u64| perforch_batch(0, n, false).max(perforch_batch(1, n, false));
    let mut k: u64 = 1;
    let mut t = slower(k);
    while t < target_ns / 4.0 && k < max_k {
        k *= 2;
        t = slower(k);
    }
    if t > 0.0 && t < target_ns {
        k = ((k as f64 * target_ns / t) as u64 + 1).min(max_k);
    }
    if warmup_ns > 0.0 {
        let w0 = perforch_clock(PERFORCH_MONOTONIC);
        while perforch_clock(PERFORCH_MONOTONIC) - w0 < warmup_ns {
            perforch_batch(0, k, false);
            perforch_batch(1, k, false);
        }
    } else {
        for _ in 0..2 {
            perforch_batch(0, k, false);
            perforch_batch(1, k, false);
        }
    }
    let (mut ratios, mut va, mut vb) = (Vec::new(), Vec::new(), Vec::new());
    let (mut wa, mut wb) = (Vec::new(), Vec::new());
    for _ in 0..pairs {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let lead = (seed & 1) as usize;
        let mut v = [0.0f64; 2];
        let mut w = [0.0f64; 2];
        for side in [lead, 1 - lead] {
            v[side] = if bytes {
                perforch_allocated(side, floor_bytes)
            } else {
                let value = perforch_batch(side, k, util);
                w[side] = *PERFORCH_LAST_WALL.lock().unwrap() / k as f64;
                value
            };
        }
        wa.push(w[0]);
        wb.push(w[1]);
        let per = if util || bytes { 1.0 } else { k as f64 };
        va.push(v[0] / per);
        vb.push(v[1] / per);
        ratios.push(v[0] / v[1]);
    }
    let unit = if bytes { "B" } else if util { "ratio" } else { "ns" };
    print!(
        "PERFORCH_RESULT {{\"contract\": {}, \"ratio\": {}, \"baseline\": {}, ",
        PERFORCH_CONTRACT,
        perforch_median(ratios),
        perforch_median(va)
    );
    print!("\"candidate\": {}, \"unit\": \"{}\", \"k\": {}, ", perforch_median(vb), unit, k);
    print!(
        "\"wall_baseline\": {}, \"wall_candidate\": {}, ",
        perforch_median(wa),
        perforch_median(wb)
    );
    println!(
        "\"first\": [{}, {}], \"second\": [{}, {}]}}",
        first[0], first[1], second[0], second[1]
    );
}
