//! Examples and benchmarks of the es-* crates live in `examples/` and `benches/`.
