//! The examples of the es-* crates live in `examples/` (thin mains over the
//! es-example-services library); the benchmarks are the es-benches package
//! (`benches/`), so a first `cargo run --example demo` compiles none of them.
