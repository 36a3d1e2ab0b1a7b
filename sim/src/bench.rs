//! Pieces for `cargo xtask bench-sim`: the plain C++ testbench that the Rust-driven
//! simulation is compared with, and the checksum both sides compute over output words.

use crate::{BuildError, Library, build_executable};
use std::path::PathBuf;

/// Source of the C++ testbench (its own `main`, no shim; see the file for its arguments).
pub const CPP_TESTBENCH: &str = include_str!("../cpp/bench_tb.cpp");

/// Builds (or finds cached) the C++ testbench linked against `lib`'s model and runtime.
pub fn build_cpp_testbench(lib: &Library) -> Result<PathBuf, BuildError> {
    build_executable(lib, "vsim_bench_tb", CPP_TESTBENCH)
}

/// FNV-1a (64 bit) over 32-bit words, as the C++ testbench computes it.
pub fn checksum(state: u64, words: &[u32]) -> u64 {
    words.iter().fold(state, |h, &w| (h ^ w as u64).wrapping_mul(0x100_0000_01b3))
}

/// Initial checksum state.
pub const CHECKSUM_START: u64 = 0xcbf2_9ce4_8422_2325;

/// CPU time of the calling thread in seconds (Linux `/proc/thread-self/schedstat`, the same
/// clock as C++'s CLOCK_THREAD_CPUTIME_ID); `None` where unavailable. On a shared machine
/// this, unlike wall time, does not count the time another process had the core.
pub fn thread_cpu_seconds() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = s.split_whitespace().next()?.parse().ok()?;
    Some(ns as f64 * 1e-9)
}
