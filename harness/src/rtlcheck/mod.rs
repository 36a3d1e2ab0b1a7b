//! RTL property checks: every library module and small stitched networks against the golden model,
//! beat by beat, under random data and random tvalid/tready stalls (see `harness/tests/rtl_*.rs`).
//!
//! Structure ([`config`]) is fixed per Verilator build and cached; a [`case::Case`] holds the data,
//! the stall patterns and the x-initial seed, and is everything needed to replay a run.
//!
//! - [`config`]: the named configurations (module + parameters, or a network's layers and folding).
//! - [`strategy`]: proptest strategies of case data, stall patterns and seeds (all shrink).
//! - [`expect`]: input beats and the golden model's output beats of a case, field by field.
//! - [`dut`], [`network`], [`sources`]: build specs (`--x-initial unique`), memory images, the
//!   generator's output for a network, and which RTL directory is built (`RTLCHECK_RTL_DIR`).
//! - [`run`]: one case through Verilator, compared beat by beat; a surplus beat is a failure too.
//! - [`suite`]: proptest over configurations on worker threads; a failure is shrunk and saved as
//!   `target/rtlcheck/failures/<config>-<case>/{case.json,wave.fst,mismatch.txt}`.
//! - [`localise`]: the first layer of a network whose own top disagrees with the golden model.
//!
//! Run: `cargo test --release -p harness --test rtl_modules --test rtl_networks` (part of
//! `cargo xtask test`); `RTLCHECK_CASES`, `RTLCHECK_SEED`, `RTLCHECK_ONLY`, `RTLCHECK_JOBS`,
//! `RTLCHECK_RTL_DIR` as described in `harness/tests/rtl_modules.rs`. Replay a saved failure with
//! `cargo xtask replay <case.json>`; score the checks with `cargo xtask mutate`.

pub mod case;
pub mod config;
pub mod dut;
pub mod expect;
pub mod network;
pub mod sources;
pub mod stalls;
pub mod localise;
pub mod run;
pub mod strategy;
pub mod suite;
