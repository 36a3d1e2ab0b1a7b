//! The Brevitas fixtures (qonnx/fixtures/*, made by make_fixtures.py): every one imports, and on every
//! test input the golden model's label equals the label of the `qonnx` package's execution of the
//! same graph, and its logits times the output scale equal the reference logits within float
//! rounding. Thresholds whose float boundary lies within rounding of an integer are listed by the
//! importer; no test input may have an accumulator (or pixel) on one of them.

use golden_model::{FeatureMap, Model, Op};
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

/// Accumulators of dense or conv layer `l` on its input map, in the layer's output (HWC) order, and
/// for each the sum of |weight x activation| (the magnitude a float executor rounds at).
fn layer_acc(model: &Model, l: usize, input: &FeatureMap) -> (Vec<i64>, Vec<f64>) {
    let (mut acc, mut mag) = (vec![], vec![]);
    match &model.layers()[l].op {
        Op::Dense(d) => {
            let x: Vec<i32> = input.iter().copied().collect();
            let w = d.matvec().weights();
            for r in 0..w.nrows() {
                acc.push((0..w.ncols()).map(|c| w[[r, c]] as i64 * x[c] as i64).sum());
                mag.push((0..w.ncols()).map(|c| (w[[r, c]] as f64 * x[c] as f64).abs()).sum());
            }
        }
        Op::Conv(cv) => {
            let (h, w_, ic) = input.dim();
            let k = cv.kernel();
            let w = cv.matvec().weights();
            for y in 0..=h - k {
                for x in 0..=w_ - k {
                    for o in 0..w.nrows() {
                        let (mut a, mut m) = (0i64, 0f64);
                        for ky in 0..k {
                            for kx in 0..k {
                                for c in 0..ic {
                                    let p = w[[o, (ky * k + kx) * ic + c]] as i64 * input[[y + ky, x + kx, c]] as i64;
                                    a += p;
                                    m += (p as f64).abs();
                                }
                            }
                        }
                        acc.push(a);
                        mag.push(m);
                    }
                }
            }
        }
        other => panic!("layer {l} is {}", other.kind()),
    }
    (acc, mag)
}

fn check(name: &str) {
    let d = dir(name);
    let imp = import_file(&d.join("model.onnx"), &Options { input_scale: Some(1.0 / 255.0), ..Default::default() })
        .unwrap_or_else(|e| panic!("{name}: import failed: {e}"));
    let model = &imp.model;
    assert_eq!(model.name(), name, "a model.onnx is named after its folder");
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
                layer_acc(model, *l, &trace[l - 1])
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
            let vals: Vec<i64> = if t.layer == 0 { px.iter().map(|&p| p as i64).collect() } else { layer_acc(model, t.layer, &trace[t.layer - 1]).0 };
            let ch = imp.boundaries.iter().find(|(l, _)| *l == t.layer).map_or(1, |(_, b)| b.nrows());
            let hits = vals.iter().enumerate().filter(|&(e, &v)| e % ch == t.channel && v == t.threshold).count();
            if hits > 0 {
                on_ties += hits;
                eprintln!("{name}: input {i} has {hits} values exactly on tie {t:?} (resolved by the quantizer's rule)");
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

#[test]
fn cnv_w1a1() {
    check("cnv_w1a1");
}

#[test]
fn cnv_w2a2() {
    check("cnv_w2a2");
}

#[test]
fn fc_w1a2_torchscript_exporter() {
    check("fc_w1a2_ts");
}

#[test]
fn fc_w2a2_onnx_brevitas_domain_without_opset_import() {
    check("fc_w2a2_brevitas_domain");
}
