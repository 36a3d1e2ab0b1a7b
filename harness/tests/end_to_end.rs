//! The default model's accelerator, all 624 test images through the RTL (registers starting from
//! random values): every label and every logit equals the golden model.

use harness::{accel, cosim, paths, verify};

#[test]
fn default_model_is_bit_exact_on_rtl_over_the_test_split() {
    let model = paths::load_model(None).expect("the default model is committed");
    let folding = rtlgen::Folding::auto(&model, None, rtlgen::Limits::default()).unwrap();
    let acc = accel::prepare(&model, &folding).unwrap();
    let lib = cosim::library(&acc, cosim::BuildMode::VERIFY).unwrap();
    let test = dataset::Dataset::load(&dataset::default_root(), dataset::Split::Test, model.input_shape().height).unwrap();
    assert_eq!(test.samples.len(), 624);
    // A different x-initial seed every run: a missing reset cannot hide behind one lucky pattern.
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let ev = verify::evaluate_rtl(&acc, &lib, &model, &test.samples, seed, verify::default_jobs()).unwrap();
    let shown: Vec<String> = ev.mismatches.iter().take(5).map(|m| m.to_string()).collect();
    assert!(ev.mismatches.is_empty(), "seed {seed}: {} mismatches, e.g.\n{}", ev.mismatches.len(), shown.join("\n"));
    eprintln!("624 images, 0 mismatches, RTL accuracy {:.4}, {} cycles in {:.1} s (seed {seed})", ev.metrics.accuracy, ev.cycles, ev.seconds);
}
