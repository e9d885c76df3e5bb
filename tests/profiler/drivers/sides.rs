// Test sides for the Rust driver: side 1 allocates 1 MiB, side 0 and 2 nothing.
fn perforch_side(which: usize) {
    if which == 1 {
        let v = std::hint::black_box(vec![1u8; 1 << 20]);
        std::hint::black_box(v[7]);
    }
}

// A program built for the tests, not for a generated workload: nothing to read or serve.
const PERFORCH_ARITY: usize = 0;
const PERFORCH_MUTATES: bool = false;
fn perforch_prepare() {}
fn perforch_serve(_which: usize, _payload: &[u8]) -> Option<String> {
    None
}
