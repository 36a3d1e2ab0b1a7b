//! Export: batch norm folded into thresholds exactly (random BN parameters, negative scales
//! included), valid golden-model files at every bit width, integer network == golden model.

use golden_model::Model;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use train::arch::{Arch, LayerSpec};
use train::export::{channel_thresholds, export};
use train::net::{Head, LevelFn, Net, Stats};
use train::quant::{ActQuant, Bits};

/// Random batch-norm parameters and running statistics, a third of the scales negative, some tiny.
fn scramble_bn(net: &mut Net, seed: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for l in &mut net.layers {
        if let Head::Hidden { gamma, beta, run_mean, run_var, .. } = &mut l.head {
            for c in 0..gamma.v.len() {
                let mag: f32 = rng.random_range(0.05..3.0);
                gamma.v[c] = if rng.random_bool(0.33) { -mag } else { mag };
                if rng.random_bool(0.05) {
                    gamma.v[c] *= 1e-6;
                }
                beta.v[c] = rng.random_range(-1.5..1.5);
                // Running statistics of a plausible scale for this layer's accumulators.
                let spread = (l.geom.k() as f32).sqrt() * l.in_scale.max(0.01);
                run_mean[c] = rng.random_range(-1.0..1.0) * spread;
                run_var[c] = (rng.random_range(0.2..2.0) * spread).powi(2);
            }
        }
    }
}

#[test]
fn thresholds_reproduce_the_level_function_everywhere() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for bits in [1u8, 2, 4, 8] {
        let act = ActQuant { bits, range: 2.0 };
        let n = 40;
        let mut a = vec![];
        let mut b = vec![];
        for i in 0..n {
            let mag = rng.random_range(0.001..0.3f64);
            a.push(match i % 5 {
                0 => -mag,
                1 => 0.0,
                _ => mag,
            });
            b.push(rng.random_range(-3.0..3.0));
        }
        let f = LevelFn { a, b, act };
        let m = 300i64;
        for c in 0..n {
            let neg = f.a[c] < 0.0;
            let t = channel_thresholds(&f, c, neg, m);
            assert!(t.windows(2).all(|w| w[0] <= w[1]), "ascending");
            for acc in -m..=m {
                let acc_exported = if neg { -acc } else { acc };
                let q = t.iter().filter(|&&t| acc_exported >= t as i64).count() as u32;
                assert_eq!(q, f.level(c, acc), "bits {bits} channel {c} acc {acc}");
            }
        }
    }
}

fn images(n: usize, size: usize, seed: u64) -> Vec<Vec<u8>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n).map(|i| train::data::synthetic_image(&mut rng, size, (i % 2) as u8)).collect()
}

/// Integer eval pass of the training graph and the exported golden model agree on every logit.
fn assert_exact(net: &Net, offset: i64, imgs: &[Vec<u8>]) -> Model {
    let int = net.int_net();
    let model = export(&int, offset, "t", Default::default()).expect("valid model");
    let json = model.to_json();
    let model = Model::from_json(&json).expect("file round trip validates");
    let refs: Vec<&[u8]> = imgs.iter().map(|v| v.as_slice()).collect();
    let accs = int.accumulators(&refs);
    for (img, acc) in imgs.iter().zip(&accs) {
        let inf = model.infer(img).unwrap();
        assert_eq!(inf.logits, vec![acc[0] as i32, (acc[1] + offset) as i32]);
        assert_eq!(inf.label, (acc[1] - acc[0] + offset > 0) as usize);
    }
    // Validation scores come from the golden model's batch path (all cores) at offset 0.
    let zero = export(&int, 0, "v", Default::default()).expect("valid model");
    let scores: Vec<i64> = zero.infer_batch(&refs).unwrap().iter().map(|r| r.score()).collect();
    assert_eq!(scores, int.scores(&refs));
    model
}

#[test]
fn bn_folding_is_exact_with_random_bn_including_negative_scales() {
    let imgs = images(24, 20, 11);
    for (wb, ab, ib) in [(1, 1, 8), (1, 1, 1), (2, 2, 8), (4, 4, 4), (8, 8, 8), (1, 2, 2), (4, 1, 8)] {
        let spec = LayerSpec::parse_list("c3x6p,c2x5,d7").unwrap();
        let mut net = Net::new(&spec, Bits::new(wb, ab, ib).unwrap(), 2.0, 20, 2, 5).unwrap();
        // Calibrate on real-looking inputs, then perturb the folded parameters at random.
        let px: Vec<u8> = imgs.concat();
        net.forward_train(net.input_values(&px), imgs.len(), Stats::Set);
        scramble_bn(&mut net, wb as u64 * 100 + ab as u64);
        assert_exact(&net, 3, &imgs);
    }
}

#[test]
fn random_models_are_valid_and_not_degenerate() {
    for arch in Arch::ALL {
        for bits in [1u8, 2, 4, 8] {
            let m = train::random_model(arch, bits, bits, 8, 42).unwrap();
            let m2 = Model::from_json(&m.to_json()).expect("valid file");
            assert_eq!(m, m2);
            assert_eq!(m.to_json(), train::random_model(arch, bits, bits, 8, 42).unwrap().to_json(), "deterministic");
            // Activations are not constant: every hidden layer output takes more than one value on
            // a few synthetic images, and both labels occur.
            let imgs = images(16, 64, 9);
            let mut labels = std::collections::BTreeSet::new();
            let mut distinct: Vec<std::collections::BTreeSet<i32>> = vec![Default::default(); m.layers().len()];
            for img in &imgs {
                let trace = m.trace(img).unwrap();
                for (i, t) in trace.iter().enumerate() {
                    distinct[i].extend(t.iter().copied().take(4096));
                }
                labels.insert(m.infer(img).unwrap().label);
            }
            for (i, d) in distinct.iter().enumerate() {
                assert!(d.len() > 1, "{arch} w{bits}a{bits}: layer {i} output is constant");
            }
            assert_eq!(labels.len(), 2, "{arch} w{bits}a{bits}: one label only");
        }
    }
    // Reduced input precision and other bit mixes also validate.
    train::random_model(Arch::Cnv, 1, 1, 1, 0).unwrap();
    train::random_model(Arch::Mlp, 4, 2, 4, 0).unwrap();
    assert!(train::random_model(Arch::Cnv, 3, 1, 8, 0).is_err());
}

#[test]
fn trained_style_bipolar_fraction_is_balanced_in_random_models() {
    let m = train::random_model(Arch::Cnv, 1, 1, 8, 1).unwrap();
    let imgs = images(8, 64, 2);
    let mut pos = 0usize;
    let mut tot = 0usize;
    for img in &imgs {
        let t = m.trace(img).unwrap();
        // conv1 output
        pos += t[1].iter().filter(|&&v| v > 0).count();
        tot += t[1].len();
    }
    let frac = pos as f64 / tot as f64;
    assert!((0.2..0.8).contains(&frac), "fraction of +1 in conv1: {frac}");
}
