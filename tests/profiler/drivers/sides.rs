// Test sides for the Rust driver: side 1 allocates 1 MiB, side 0 and 2 nothing.
fn perforch_side(which: usize) {
    if which == 1 {
        let v = std::hint::black_box(vec![1u8; 1 << 20]);
        std::hint::black_box(v[7]);
    }
}
