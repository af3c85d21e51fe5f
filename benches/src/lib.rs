//! Criterion benchmarks for smppguard's hot paths live in `benches/`; this library is empty
//! so the package can be a workspace member. See `docs/performance.md` for results.
#![forbid(unsafe_code)]
