//! RTL property tests of every library module (MVTU in every W x A mode, sliding window, max-pool,
//! input quantizer, FIFO, width converter, label unit) against the golden model, beat by beat,
//! under random data, random tvalid/tready stalls and random initial register values
//! (`--x-initial unique`, seeded per case).
//!
//! `RTLCHECK_CASES=N` cases per configuration, `RTLCHECK_SEED=S` repeats a run,
//! `RTLCHECK_ONLY=mvtu_w2,fifo` selects configurations, `RTLCHECK_JOBS=N` parallel configurations,
//! `RTLCHECK_RTL_DIR=dir` checks another copy of `rtl/`. A failure is shrunk and saved under
//! `target/rtlcheck/failures/` (case.json, wave.fst, mismatch.txt); `cargo xtask replay` re-runs it.

use harness::rtlcheck::config::Dut;
use harness::rtlcheck::suite;

/// Stream transactions the module configurations must reach with the default case counts (CI:
/// at least 100,000 in total, zero mismatches); the networks add theirs on top.
const FLOOR: u64 = suite::MIN_TRANSACTIONS;

#[test]
fn rtl_modules_match_the_golden_model() {
    suite::run_test(|c| !matches!(c.dut, Dut::Network(_)), FLOOR);
}
