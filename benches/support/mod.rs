//! What the benchmarks share.

pub mod generate;
