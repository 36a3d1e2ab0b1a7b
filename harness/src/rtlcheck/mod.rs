//! RTL property checks: every library module and small stitched networks against the golden model,
//! beat by beat, under random data and random tvalid/tready stalls (see `harness/tests/rtl_*.rs`).
//!
//! Structure ([`config`]) is fixed per Verilator build and cached; a [`case::Case`] holds the data,
//! the stall patterns and the x-initial seed, and is everything needed to replay a run.

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
