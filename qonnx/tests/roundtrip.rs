//! Export to QONNX and import again: the same integer network. On the Brevitas fixtures (imported,
//! exported, re-imported) and on the project's default model, every input gives the same logits and
//! label before and after.

use golden_model::Model;
use qonnx::npy::Npy;
use qonnx::{Options, export, import_bytes, import_file};
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn roundtrip(m: &Model) -> Model {
    let bytes = export(m).unwrap_or_else(|e| panic!("{}: export failed: {e}", m.name()));
    let back = import_bytes(&bytes, "exported.onnx", None, &Options { classes: Some(m.classes().to_vec()), ..Default::default() })
        .unwrap_or_else(|e| panic!("{}: re-import failed: {e}", m.name()));
    assert_eq!(back.output_scale, 1.0);
    assert_eq!(back.model.layers().len(), m.layers().len(), "{}", back.model.summary());
    back.model
}

#[test]
fn fixtures_roundtrip() {
    for name in ["fc_w1a1", "fc_w1a2", "fc_w2a2", "fc_w1a2_ts", "fc_w2a2_brevitas_domain", "cnv_w1a1", "cnv_w2a2"] {
        let d = root().join("fixtures").join(name);
        let imp = import_file(&d.join("model.onnx"), &Options { input_scale: Some(1.0 / 255.0), ..Default::default() }).unwrap();
        let back = roundtrip(&imp.model);
        let x = Npy::read(d.join("inputs.npy")).unwrap();
        let [n, c, h, w] = x.shape[..] else { panic!() };
        for i in 0..n {
            let px: Vec<u8> = (0..h * w * c)
                .map(|e| {
                    let (y, xx, ch) = (e / (w * c), (e / c) % w, e % c);
                    x.data[i * c * h * w + (ch * h + y) * w + xx] as u8
                })
                .collect();
            assert_eq!(imp.model.infer(&px).unwrap(), back.infer(&px).unwrap(), "{name}: input {i}");
        }
    }
}

#[test]
fn default_model_roundtrip() {
    let m = Model::load(root().join("../models/default.qnn.json")).unwrap();
    let back = roundtrip(&m);
    let len = m.input_shape().len();
    let mut s = 0x9e3779b97f4a7c15u64;
    let mut labels = [0usize; 2];
    for i in 0..64 {
        let px: Vec<u8> = (0..len)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                (s >> 56) as u8
            })
            .collect();
        let a = m.infer(&px).unwrap();
        labels[a.label] += 1;
        assert_eq!(a, back.infer(&px).unwrap(), "image {i}");
    }
    eprintln!("default model: 64 random images, labels {labels:?}, identical logits after export + import");
}
