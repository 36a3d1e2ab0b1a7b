//! The default model exported to QONNX and run by the `qonnx` package (fixtures/export_default, made
//! by make_fixtures.py export_default): the export is byte-identical to the one qonnx ran, and on all
//! 624 test images qonnx's labels and logits equal the golden model's.

use golden_model::Model;
use qonnx::npy::Npy;
use std::path::PathBuf;

#[test]
fn default_model_export_matches_qonnx_on_test_split() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("fixtures/export_default");
    let meta: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("meta.json")).unwrap()).unwrap();
    let model = Model::load(root.join("../models/default.qnn.json")).unwrap();
    let bytes = qonnx::export(&model).unwrap();
    use sha2::Digest;
    assert_eq!(
        hex::encode(sha2::Sha256::digest(&bytes)),
        meta["onnx_sha256"].as_str().unwrap(),
        "the export changed since qonnx ran it: rerun `target/fixture-venv/bin/python qonnx/fixtures/make_fixtures.py export_default`"
    );
    let labels = Npy::read(dir.join("expected_labels.npy")).unwrap();
    let logits = Npy::read(dir.join("expected_logits.npy")).unwrap();
    let s = model.input_shape();
    let data = dataset::Dataset::load(&dataset::default_root(), dataset::Split::Test, s.height).unwrap();
    let n = data.samples.len();
    assert_eq!(n, 624);
    assert_eq!(labels.shape, vec![n]);
    let k = model.classes().len();
    let images: Vec<&[u8]> = data.samples.iter().map(|x| x.pixels.as_slice()).collect();
    let got = model.infer_batch(&images).unwrap();
    let mut agree = 0;
    for (i, g) in got.iter().enumerate() {
        agree += (g.label == labels.data[i] as usize) as usize;
        for c in 0..k {
            assert_eq!(g.logits[c] as f64, logits.data[i * k + c], "image {i} logit {c}");
        }
    }
    eprintln!("default model export: {agree}/{n} labels equal qonnx's execution");
    assert_eq!(agree, n);
    let counts = got.iter().fold([0usize; 2], |mut a, g| {
        a[g.label] += 1;
        a
    });
    assert!(counts[0] > 50 && counts[1] > 50, "both classes predicted: {counts:?}");
}
