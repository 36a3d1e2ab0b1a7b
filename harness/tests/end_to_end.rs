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

/// Images shared between simulator instances give the same outputs as one instance running all
/// of them (same seed): `cargo xtask verify --jobs N` changes the wall time, not the results.
#[test]
fn several_simulator_instances_give_the_results_of_one() {
    let model = paths::load_model(None).expect("the default model is committed");
    let folding = rtlgen::Folding::auto(&model, None, rtlgen::Limits::default()).unwrap();
    let acc = accel::prepare(&model, &folding).unwrap();
    let lib = cosim::library(&acc, cosim::BuildMode::VERIFY).unwrap();
    let test = dataset::Dataset::load(&dataset::default_root(), dataset::Split::Test, model.input_shape().height).unwrap();
    let images = &test.samples[..97];
    let one = verify::evaluate_rtl(&acc, &lib, &model, images, 7, 1).unwrap();
    let three = verify::evaluate_rtl(&acc, &lib, &model, images, 7, 3).unwrap();
    assert_eq!(one.instance.iter().max(), Some(&0));
    assert_eq!(three.instance.iter().max(), Some(&2), "97 images over 3 instances use all three");
    assert_eq!(one.images.len(), 97);
    assert_eq!(three.images.len(), 97);
    for (i, (a, b)) in one.images.iter().zip(&three.images).enumerate() {
        assert_eq!((a.label, &a.logits), (b.label, &b.logits), "image {i}");
    }
    assert!(one.mismatches.is_empty() && three.mismatches.is_empty());
}
