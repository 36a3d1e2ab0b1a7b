//! Finite-difference checks of the hand-written backward pass on the float ops (quantizers off:
//! `float_mode`), and the straight-through estimators of the quantized graph.

use train::arch::LayerSpec;
use train::net::{Head, Net, Stats, softmax_xent, softmax_xent_distill};
use train::quant::Bits;

fn loss_of(net: &mut Net, x: &[f32], labels: &[u8], cw: &[f32]) -> f64 {
    let f = net.forward_train(x.to_vec(), labels.len(), Stats::Keep);
    softmax_xent(&f.logits, labels, cw).0 as f64
}

fn check(layers: &str, size: usize) {
    let spec = LayerSpec::parse_list(layers).unwrap();
    let mut net = Net::new(&spec, Bits::new(8, 8, 8).unwrap(), 2.0, size, 2, 7).unwrap();
    net.float_mode = true;
    // Non-trivial batch-norm parameters, including a negative scale.
    for l in &mut net.layers {
        if let Head::Hidden { gamma, beta, .. } = &mut l.head {
            for (i, g) in gamma.v.iter_mut().enumerate() {
                *g = if i % 3 == 0 { -0.7 } else { 1.0 + 0.1 * i as f32 };
            }
            for (i, b) in beta.v.iter_mut().enumerate() {
                *b = 0.05 * i as f32 - 0.1;
            }
        }
    }
    let batch = 4;
    // Smooth inputs (distinct values so max-pool has no ties).
    let x: Vec<f32> = (0..batch * size * size).map(|i| ((i as f32 * 0.731).sin() + (i as f32 * 0.0917).cos()) * 0.5).collect();
    let labels = [0u8, 1, 1, 0];
    let cw = [1.5f32, 0.7];
    let f = net.forward_train(x.clone(), batch, Stats::Keep);
    let (_, dl) = softmax_xent(&f.logits, &labels, &cw);
    net.backward(f, &dl);
    let analytic: Vec<Vec<f32>> = net.params_mut().iter().map(|p| p.g.clone()).collect();
    let mut checked = 0;
    let mut worst: f64 = 0.0;
    for (pi, grad) in analytic.iter().enumerate() {
        let len = grad.len();
        let step = (len / 7).max(1);
        for j in (0..len).step_by(step) {
            let h: f32 = std::env::var("GC_H").ok().and_then(|s| s.parse().ok()).unwrap_or(1e-3);
            let orig = net.params_mut()[pi].v[j];
            net.params_mut()[pi].v[j] = orig + h;
            let lp = loss_of(&mut net, &x, &labels, &cw);
            net.params_mut()[pi].v[j] = orig - h;
            let lm = loss_of(&mut net, &x, &labels, &cw);
            net.params_mut()[pi].v[j] = orig;
            let num = (lp - lm) / (2.0 * h as f64);
            let ana = grad[j] as f64;
            let err = (num - ana).abs() / (num.abs().max(ana.abs()).max(1e-2));
            worst = worst.max(err);
            assert!(err < 3e-2, "{layers}: param {pi}[{j}]: numeric {num:.6} vs analytic {ana:.6}");
            checked += 1;
        }
    }
    assert!(checked > 20, "checked only {checked}");
    eprintln!("{layers}: {checked} derivatives, worst relative error {worst:.2e}");
}

#[test]
fn conv_pool_bn_dense_softmax_gradients() {
    check("c3x4p,c2x5,d6", 10);
}

#[test]
fn dense_only_gradients() {
    check("d7,d5", 6);
}

#[test]
fn conv_without_pool_gradients() {
    check("c2x3,c3x4p", 9);
}

#[test]
fn softmax_xent_gradient_matches_finite_differences() {
    let z = [0.3f32, -1.2, 2.0, 0.5, -0.1, 0.0];
    let labels = [1u8, 0, 1];
    let cw = [2.0f32, 0.5];
    let (_, g) = softmax_xent(&z, &labels, &cw);
    for i in 0..z.len() {
        let mut zp = z;
        let mut zm = z;
        zp[i] += 1e-3;
        zm[i] -= 1e-3;
        let num = (softmax_xent(&zp, &labels, &cw).0 - softmax_xent(&zm, &labels, &cw).0) as f64 / 2e-3;
        assert!((num - g[i] as f64).abs() < 1e-3, "{i}: {num} vs {}", g[i]);
    }
}

#[test]
fn distillation_loss_gradient_matches_finite_differences_and_reduces_to_labels() {
    let z = [0.3f32, -1.2, 2.0, 0.5, -0.1, 0.0];
    let labels = [1u8, 0, 1];
    let cw = [2.0f32, 0.5];
    let t = [0.9f32, 0.2, 0.05];
    let f = |z: &[f32]| softmax_xent_distill(z, &labels, &cw, &t, 0.6);
    let (_, g) = f(&z);
    for i in 0..z.len() {
        let mut zp = z;
        let mut zm = z;
        zp[i] += 1e-3;
        zm[i] -= 1e-3;
        let num = (f(&zp).0 - f(&zm).0) as f64 / 2e-3;
        assert!((num - g[i] as f64).abs() < 1e-3, "{i}: {num} vs {}", g[i]);
    }
    // Weight 0 is the plain labelled loss; weight 1 ignores the labels (but keeps their class weights).
    let (l0, g0) = softmax_xent_distill(&z, &labels, &cw, &t, 0.0);
    let (l, gl) = softmax_xent(&z, &labels, &cw);
    assert!((l0 - l).abs() < 1e-6);
    assert!(g0.iter().zip(&gl).all(|(a, b)| (a - b).abs() < 1e-6));
    let flipped = [0u8, 1, 0];
    let cw1 = [1.0f32, 1.0];
    assert_eq!(softmax_xent_distill(&z, &labels, &cw1, &t, 1.0).1, softmax_xent_distill(&z, &flipped, &cw1, &t, 1.0).1);
}

/// In the quantized graph the activation STE passes gradients only where the quantizer is not
/// saturated, and bipolar weights pass only where |w| <= 1.
#[test]
fn straight_through_estimators_mask_gradients() {
    let spec = LayerSpec::parse_list("d4").unwrap();
    let mut net = Net::new(&spec, Bits::new(1, 1, 8).unwrap(), 2.0, 3, 2, 1).unwrap();
    // One latent weight outside [-1, 1]: its gradient must be zero.
    net.layers[0].w.v[0] = 1.5;
    // Huge beta on channel 0 saturates the sign STE (|y| > 1 for every sample).
    if let Head::Hidden { beta, .. } = &mut net.layers[0].head {
        beta.v[0] = 5.0;
    }
    let x: Vec<f32> = (0..2 * 9).map(|i| (i as f32 * 0.37).sin().abs()).collect();
    let f = net.forward_train(x, 2, Stats::Keep);
    let (_, dl) = softmax_xent(&f.logits, &[0, 1], &[1.0, 1.0]);
    net.backward(f, &dl);
    assert_eq!(net.layers[0].w.g[0], 0.0);
    if let Head::Hidden { beta, gamma, .. } = &net.layers[0].head {
        assert_eq!(beta.g[0], 0.0);
        assert_eq!(gamma.g[0], 0.0);
        assert!(beta.g.iter().skip(1).any(|&g| g != 0.0));
    }
    // Forward values are exactly bipolar.
    let f = net.forward_train(vec![0.3; 9], 1, Stats::Keep);
    assert!(f.logits.iter().all(|v| v.is_finite()));
}

#[test]
fn conv_no_pool_at_all() {
    check("c2x3,c3x4", 9);
}
