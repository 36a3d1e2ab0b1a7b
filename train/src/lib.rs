//! Quantization-aware training of binarized / low-bit streaming classifiers, exported bit-exactly to
//! golden-model files.
//!
//! * [`arch`]: the MLP (FINN SFC style) and CNV (conv3x3 + max-pool blocks) layer lists.
//! * [`net`]: the training graph (float shadow weights, straight-through estimators, batch norm,
//!   hand-written backward pass, Adam) and its exact integer eval-mode pass [`net::IntNet`].
//! * [`export`]: batch norm + quantizer folded into integer thresholds, golden-model [`Model`].
//! * [`trainer`]: the training loop with validation-only model selection.
//! * [`random_model`]: an untrained but valid model with non-degenerate activations, for benchmarks
//!   and RTL tests.

pub mod arch;
pub mod data;
pub mod export;
pub mod kernels;
pub mod net;
pub mod plot;
pub mod quant;
pub mod report;
pub mod select;
pub mod trainer;

pub use arch::{Arch, LayerSpec};
pub use data::{Augment, TrainData};
pub use quant::Bits;
pub use trainer::{Distill, RunOptions, TrainConfig, TrainLog, TrainOutcome, train, train_with_teacher};

use golden_model::{Model, ModelError, Provenance};
use net::{Head, Net, Stats};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Default clip range of multi-bit activations (see [`quant::ActQuant`]).
pub const DEFAULT_ACT_RANGE: f32 = 2.0;

/// An untrained, randomly initialised but valid golden model of `arch` at the given bit widths
/// (`in_bits` = bits of the input quantizer, 8 = raw pixels), deterministic in `seed`.
///
/// Batch norm is calibrated on synthetic chest-like images so every hidden channel's thresholds sit
/// inside the range its accumulators actually take (bipolar layers are about half +1, multi-bit layers
/// use their low and middle levels), and the decision offset splits those images about evenly between
/// the two classes.
pub fn random_model(arch: Arch, wbits: u8, abits: u8, in_bits: u8, seed: u64) -> Result<Model, ModelError> {
    random_model_with_layers(arch, &arch.layers(), wbits, abits, in_bits, seed)
}

/// As [`random_model`] with an explicit hidden-layer list (e.g. smaller networks for fast RTL tests;
/// see [`LayerSpec::parse_list`]).
pub fn random_model_with_layers(
    arch: Arch,
    layers: &[LayerSpec],
    wbits: u8,
    abits: u8,
    in_bits: u8,
    seed: u64,
) -> Result<Model, ModelError> {
    let bits = Bits::new(wbits, abits, in_bits).map_err(ModelError::Model)?;
    let size = arch::INPUT_SIZE;
    let mut net = Net::new(layers, bits, DEFAULT_ACT_RANGE, size, arch::NUM_CLASSES, seed).map_err(ModelError::Model)?;
    let mut rng = ChaCha8Rng::seed_from_u64(data::mix_seed(seed, 0xCA1, 0));
    const N: usize = 32;
    let images: Vec<Vec<u8>> = (0..N).map(|i| data::synthetic_image(&mut rng, size, (i % 2) as u8)).collect();
    let pixels: Vec<u8> = images.concat();
    let f = net.forward_train(net.input_values(&pixels), N, Stats::Set);
    // Unit-variance logits, as training starts.
    let n = f.logits.len() as f64;
    let mean = f.logits.iter().map(|&v| v as f64).sum::<f64>() / n;
    let sd = (f.logits.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n).sqrt();
    if let Some(Head::Logits { log_scale, .. }) = net.layers.last_mut().map(|l| &mut l.head)
        && sd > 1e-9
    {
        log_scale.v[0] -= sd.ln() as f32;
    }
    let int = net.int_net();
    let refs: Vec<&[u8]> = images.iter().map(|v| v.as_slice()).collect();
    let mut scores = int.scores(&refs);
    scores.sort_unstable();
    let offset = -scores[N / 2 - 1];
    let mut extra = std::collections::BTreeMap::new();
    extra.insert("random".into(), serde_json::Value::Bool(true));
    extra.insert("wbits".into(), wbits.into());
    extra.insert("abits".into(), abits.into());
    extra.insert("in_bits".into(), in_bits.into());
    extra.insert("layers".into(), arch::layers_to_string(layers).into());
    extra.insert("decision_offset".into(), offset.into());
    let provenance = Provenance { arch: Some(arch.name().into()), seed: Some(seed), extra, ..Default::default() };
    export::export(&int, offset, &format!("{arch}-{}-random-seed{seed}", bits.tag()), provenance)
}
