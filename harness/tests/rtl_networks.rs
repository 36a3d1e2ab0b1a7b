//! RTL property tests of small networks stitched by the real generator (quantizer, convolutions,
//! pools, dense and logit layers, width converters, FIFOs, label unit): random weights, thresholds,
//! biases and images per case on a fixed structure and folding, random stalls and initial state.
//! A mismatch is localised to the first layer whose own top disagrees with the golden model.
//! Environment variables as in `rtl_modules.rs`.

use harness::rtlcheck::config::Dut;
use harness::rtlcheck::suite;

/// Floor of the networks (few beats per image: they cost builds, not transactions).
const FLOOR: u64 = 200;

#[test]
fn rtl_networks_match_the_golden_model() {
    suite::run_test(|c| matches!(c.dut, Dut::Network(_)), FLOOR);
}
