//! The Brevitas fixtures (qonnx/fixtures/*, made by make_fixtures.py): every one imports, and on every
//! test input the golden model's label equals the label of the `qonnx` package's execution of the
//! same graph, and its logits times the output scale equal the reference logits within float
//! rounding. Thresholds whose float boundary lies within rounding of an integer are listed by the
//! importer; no test input may have an accumulator (or pixel) on one of them.

use golden_model::{Model, Op};
use qonnx::npy::Npy;
use qonnx::{Options, import_file};
use std::path::PathBuf;

fn dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name)
}

/// NCHW tensor of image `i` to HWC pixels.
fn pixels(x: &Npy, i: usize) -> Vec<u8> {
    let [_, c, h, w] = x.shape[..] else { panic!("inputs are NCHW, got {:?}", x.shape) };
    let base = i * c * h * w;
    let mut out = Vec::with_capacity(c * h * w);
    for y in 0..h {
        for xx in 0..w {
            for ch in 0..c {
                let v = x.data[base + (ch * h + y) * w + xx];
                assert!((0.0..=255.0).contains(&v) && v.fract() == 0.0, "input {i} holds {v}, not a pixel");
                out.push(v as u8);
            }
        }
    }
    out
}

/// Accumulators of dense layer `l` on the given input (trace of the previous layer).
fn dense_acc(model: &Model, l: usize, input: &[i32]) -> Vec<i64> {
    let Op::Dense(d) = &model.layers()[l].op else { panic!("layer {l} is not dense") };
    let w = d.matvec().weights();
    (0..w.nrows()).map(|r| (0..w.ncols()).map(|c| w[[r, c]] as i64 * input[c] as i64).sum()).collect()
}

fn check(name: &str) {
    let d = dir(name);
    let imp = import_file(&d.join("model.onnx"), &Options { input_scale: Some(1.0 / 255.0), ..Default::default() })
        .unwrap_or_else(|e| panic!("{name}: import failed: {e}"));
    let model = &imp.model;
    let x = Npy::read(d.join("inputs.npy")).unwrap();
    let labels = Npy::read(d.join("expected_labels.npy")).unwrap();
    let logits = Npy::read(d.join("expected_logits.npy")).unwrap();
    let n = x.shape[0];
    let k = model.classes().len();
    assert!(n >= 32, "{name}: only {n} test inputs");
    assert_eq!(labels.shape, vec![n]);
    assert_eq!(logits.shape, vec![n, k]);
    let (mut agree, mut max_err, mut max_abs) = (0, 0f64, 0f64);
    let (mut near, mut on_ties) = (0, 0);
    for i in 0..n {
        let px = pixels(&x, i);
        let inf = model.infer(&px).unwrap();
        assert_eq!(inf, model.infer_reference(&px).unwrap(), "{name}: fast and reference paths differ on input {i}");
        let want = labels.data[i] as usize;
        if inf.label == want {
            agree += 1;
        } else {
            eprintln!("{name}: input {i}: label {} but qonnx gives {want}", inf.label);
        }
        for c in 0..k {
            let r = logits.data[i * k + c];
            max_abs = max_abs.max(r.abs());
            max_err = max_err.max((imp.output_scale * inf.logits[c] as f64 - r).abs());
        }
        // Every hidden value against the float graph's level boundaries: an accumulator within float32
        // rounding of a boundary is where a float executor could round the other way.
        let trace = model.trace(&px).unwrap();
        for (l, bounds) in &imp.boundaries {
            let (vals, mags): (Vec<i64>, Vec<f64>) = if *l == 0 {
                (px.iter().map(|&p| p as i64).collect(), vec![255.0; px.len()])
            } else {
                let prev: Vec<i32> = trace[l - 1].iter().copied().collect();
                let Op::Dense(dl) = &model.layers()[*l].op else { panic!("fixtures are fully connected") };
                let w = dl.matvec().weights();
                let mags = (0..w.nrows()).map(|r| (0..w.ncols()).map(|c| (w[[r, c]] as f64 * prev[c] as f64).abs()).sum()).collect();
                (dense_acc(model, *l, &prev), mags)
            };
            let ch = bounds.nrows();
            for (e, (&v, &mag)) in vals.iter().zip(&mags).enumerate() {
                let c = e % ch;
                for (j, &b) in bounds.row(c).iter().enumerate() {
                    if b.is_nan() {
                        continue;
                    }
                    let eps = 16.0 * f32::EPSILON as f64 * (mag + b.abs() + 1.0);
                    if (v as f64 - b).abs() < eps {
                        near += 1;
                        eprintln!("{name}: input {i}, layer {l}, channel {c}: value {v} within {eps:.2e} of boundary {b} (threshold {j})");
                    }
                }
            }
        }
        for t in &imp.near_ties {
            if t.layer > 0 {
                let prev: Vec<i32> = trace[t.layer - 1].iter().copied().collect();
                let v = dense_acc(model, t.layer, &prev)[t.channel];
                if v == t.threshold {
                    on_ties += 1;
                    eprintln!("{name}: input {i} is exactly on tie {t:?} (resolved by the quantizer's rule)");
                }
            }
        }
    }
    let tol = 1e-5 * max_abs.max(1.0);
    eprintln!(
        "{name}: {agree}/{n} labels equal qonnx; max |S*logit - qonnx logit| = {max_err:.3e} (tolerance {tol:.1e}, logits up to {max_abs:.3}); \
         output scale {:.6e}; {} exact-tie thresholds, {on_ties} values on them; \
         {near} hidden values within float32 rounding of a level boundary\n{}",
        imp.output_scale,
        imp.near_ties.len(),
        model.summary()
    );
    assert_eq!(agree, n, "{name}: labels differ from the qonnx execution");
    assert!(max_err <= tol, "{name}: logits differ from the qonnx execution by {max_err}");
    let distinct: std::collections::BTreeSet<i64> = labels.data.iter().map(|&v| v as i64).collect();
    assert!(distinct.len() >= 3, "{name}: the reference labels take only {distinct:?}: a degenerate fixture");
    // The model file round-trips and names its source.
    let again = Model::from_json(&model.to_json()).unwrap();
    assert_eq!(&again, model);
    let hash = model.provenance.extra["source_sha256"].as_str().unwrap();
    let bytes = std::fs::read(d.join("model.onnx")).unwrap();
    use sha2::Digest;
    assert_eq!(hash, hex::encode(sha2::Sha256::digest(&bytes)));
}

#[test]
fn fc_w1a1() {
    check("fc_w1a1");
}

#[test]
fn fc_w1a2() {
    check("fc_w1a2");
}

#[test]
fn fc_w2a2() {
    check("fc_w2a2");
}
