//! The training loop: class-balanced loss, augmentation, Adam with warm-up and cosine decay, per-epoch
//! validation of the exact integer network, checkpoint and decision-offset selection on validation
//! only, progress bar, JSON log and learning curve.

use crate::arch::{Arch, LayerSpec, cost, layers_to_string};
use crate::data::{Augment, TrainData, mix_seed};
use crate::export::{export, max_offset};
use crate::kernels::par_parts;
use crate::net::{IntNet, Net, Stats, softmax_xent_distill, softmax_xent_smoothed};
use crate::quant::Bits;
use crate::select::{OffsetRule, ValFigures, figures};
use golden_model::{Model, Provenance};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

/// Everything that determines a training run (with the data).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    pub arch: Arch,
    pub layers: Vec<LayerSpec>,
    pub bits: Bits,
    pub seed: u64,
    pub epochs: usize,
    pub batch: usize,
    /// Peak Adam learning rate (after a linear warm-up, cosine decay to zero).
    pub lr: f32,
    pub warmup_epochs: f32,
    /// Decoupled weight decay of multi-bit weights.
    pub weight_decay: f32,
    /// Clip range `R` of multi-bit activations.
    pub act_range: f32,
    pub augment: Augment,
    /// Weight each class's loss by `N / (classes * N_class)`.
    pub class_balanced: bool,
    /// Train images (fixed subset, no augmentation) over which batch-norm statistics are re-estimated
    /// before each validation; 0 keeps the moving averages.
    pub bn_recalibrate: usize,
    /// Label smoothing `eps` of the cross-entropy targets (0 = one-hot).
    #[serde(default)]
    pub label_smoothing: f32,
    /// How the decision offset is chosen on the validation split.
    #[serde(default)]
    pub offset_rule: OffsetRule,
    /// Knowledge distillation from a fixed, already trained teacher model (none: labels only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distill: Option<Distill>,
}

/// Soft targets from a teacher: the loss target of a train image is `(1 - weight) onehot(label) +
/// weight (1 - t, t)`, `t = sigmoid(scale * m / sd)`, `m` the teacher's decision margin on the image
/// (its score with its own decision offset, un-augmented, computed once) and `sd` the standard deviation
/// of `m` over the train split, so the rule is the same whatever the teacher's integer score scale.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Distill {
    /// Teacher file as given, and its content hash (for the record; the teacher is passed to
    /// [`train_with_teacher`]).
    pub teacher: String,
    pub teacher_hash: String,
    pub weight: f32,
    pub scale: f32,
}

impl TrainConfig {
    /// Defaults per architecture and bit width.
    pub fn new(arch: Arch, bits: Bits, seed: u64) -> Self {
        // Multi-bit CNV models converge in far fewer epochs than binarized ones (validation curves).
        let epochs = match arch {
            Arch::Mlp => 30,
            Arch::Cnv if bits.wbits.min(bits.abits) == 1 => 30,
            Arch::Cnv => 15,
        };
        TrainConfig {
            arch,
            layers: arch.layers(),
            bits,
            seed,
            epochs,
            batch: 64,
            lr: if bits.wbits == 1 { 3e-3 } else { 2e-3 },
            warmup_epochs: 1.0,
            weight_decay: if bits.wbits == 1 { 0.0 } else { 1e-4 },
            act_range: 2.0,
            // Acquisition-robust augmentation for the CNV: the test split comes from other acquisitions
            // (exposure, display curve, detector blur, original aspect ratio) than the validation split
            // can show; the MLP, which has no translation invariance, keeps the light preset
            // (train/README.md, "What was tried").
            augment: match arch {
                Arch::Cnv => Augment::ACQUISITION,
                Arch::Mlp => Augment::LIGHT,
            },
            class_balanced: true,
            bn_recalibrate: 1024,
            label_smoothing: 0.0,
            offset_rule: OffsetRule::ClassMedians,
            distill: None,
        }
    }
}

/// One line of the training log.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EpochLog {
    pub epoch: usize,
    /// Mean class-balanced training loss over the epoch.
    pub loss: f64,
    pub train_accuracy: f64,
    pub lr: f64,
    /// Validation figures of the exact integer network at this epoch's best offset.
    pub val_accuracy: f64,
    pub val_balanced_accuracy: f64,
    pub val_sensitivity: f64,
    pub val_specificity: f64,
    pub val_auc: f64,
    pub val_offset: i64,
    pub seconds: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TrainLog {
    pub config: TrainConfig,
    pub command: String,
    pub train_hash: String,
    pub train_counts: [usize; 2],
    pub val_n: usize,
    pub threads: usize,
    pub epochs: Vec<EpochLog>,
    pub best_epoch: Option<usize>,
    pub decision_offset: Option<i64>,
    pub wall_seconds: f64,
}

/// Where the run reports to.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Exact command line recorded in the provenance.
    pub command: String,
    /// No progress bar, no per-epoch lines.
    pub quiet: bool,
    /// Training log written (atomically) after every epoch.
    pub log_path: Option<PathBuf>,
    /// Learning-curve SVG written after every epoch.
    pub curve_path: Option<PathBuf>,
}

pub struct TrainOutcome {
    pub model: Model,
    /// The selected checkpoint (training graph).
    pub net: Net,
    pub int: IntNet,
    pub offset: i64,
    pub best: ValFigures,
    pub log: TrainLog,
}

fn lr_at(cfg: &TrainConfig, step: usize, total: usize, per_epoch: usize) -> f32 {
    let warm = (cfg.warmup_epochs * per_epoch as f32) as usize;
    if step < warm {
        return cfg.lr * (step + 1) as f32 / warm as f32;
    }
    let p = (step - warm) as f32 / (total - warm).max(1) as f32;
    cfg.lr * 0.5 * (1.0 + (std::f32::consts::PI * p).cos())
}

/// Validation scores and figures of an integer network at the offset `rule` picks.
pub fn validate(int: &IntNet, data: &TrainData, rule: OffsetRule) -> (ValFigures, i64) {
    let imgs: Vec<&[u8]> = data.val.iter().map(|s| s.pixels.as_slice()).collect();
    let labels: Vec<u8> = data.val.iter().map(|s| s.label).collect();
    let scores = validation_scores(int, &imgs);
    let d = rule.offset(&scores, &labels, int.natural_offset(), max_offset(int));
    (figures(&scores, &labels, d), d)
}

/// `acc1 - acc0` of every image, computed by the golden model's fast path on all cores: the network
/// exported with a zero decision offset has exactly `int`'s accumulators as logits, and the bit-packed
/// model is many times faster than the f64 GEMMs of [`IntNet::scores`], which remain the fallback for
/// a network that cannot be exported yet (the final export would report why).
fn validation_scores(int: &IntNet, imgs: &[&[u8]]) -> Vec<i64> {
    match export(int, 0, "validation", Provenance::default()) {
        Ok(model) => match model.infer_batch(imgs) {
            Ok(r) => r.iter().map(|r| r.score()).collect(),
            Err(_) => int.scores(imgs),
        },
        Err(_) => int.scores(imgs),
    }
}

fn progress_bar(total: u64, quiet: bool) -> Option<indicatif::ProgressBar> {
    if quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let pb = indicatif::ProgressBar::new(total);
    pb.set_style(
        indicatif::ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} batches  {msg}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    Some(pb)
}

/// Trains, selects the checkpoint and decision offset on validation, and exports the golden model.
pub fn train(data: &TrainData, cfg: &TrainConfig, opts: &RunOptions) -> anyhow::Result<TrainOutcome> {
    train_with_teacher(data, cfg, opts, None)
}

/// Teacher probability of class 1 for every train image (see [`Distill`]).
fn teacher_targets(teacher: &Model, data: &TrainData, scale: f32) -> anyhow::Result<Vec<f32>> {
    let shape = teacher.input_shape();
    anyhow::ensure!(
        shape.height == data.size && shape.width == data.size && shape.channels == 1,
        "teacher model {} reads {}x{}x{} images but the training data are {}x{}x1; train the teacher on the same data",
        teacher.name(),
        shape.height,
        shape.width,
        shape.channels,
        data.size,
        data.size
    );
    let imgs: Vec<(&[u8], u8)> = data.train.iter().map(|s| (s.pixels.as_slice(), s.label)).collect();
    let p = golden_model::metrics::predict(teacher, &imgs).map_err(|e| anyhow::anyhow!("teacher model {}: {e}", teacher.name()))?;
    let n = p.scores.len() as f64;
    let mean = p.scores.iter().map(|&v| v as f64).sum::<f64>() / n;
    let sd = (p.scores.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n).sqrt();
    anyhow::ensure!(sd > 0.0, "teacher model {} gives the same score to every train image; it cannot teach", teacher.name());
    Ok(p.scores.iter().map(|&m| (1.0 / (1.0 + (-(scale as f64) * m as f64 / sd).exp())) as f32).collect())
}

/// [`train`], with soft targets from `teacher` when `cfg.distill` is set (both or neither).
pub fn train_with_teacher(data: &TrainData, cfg: &TrainConfig, opts: &RunOptions, teacher: Option<&Model>) -> anyhow::Result<TrainOutcome> {
    let t0 = Instant::now();
    crate::kernels::tune_allocator();
    if data.train.is_empty() || data.val.is_empty() {
        anyhow::bail!("empty training or validation data");
    }
    // Teacher probabilities of every train image, with the weight they get in the targets.
    let distill = match (&cfg.distill, teacher) {
        (Some(d), Some(t)) => Some((teacher_targets(t, data, d.scale)?, d.weight)),
        (None, None) => None,
        (Some(_), None) => anyhow::bail!("the configuration asks for distillation but no teacher model was given"),
        (None, Some(_)) => anyhow::bail!("a teacher model was given but the configuration has no distillation settings"),
    };
    let classes = 2;
    let mut net = Net::new(&cfg.layers, cfg.bits, cfg.act_range, data.size, classes, cfg.seed).map_err(anyhow::Error::msg)?;
    let counts = data.class_counts();
    let class_w: Vec<f32> = if cfg.class_balanced {
        let n = data.train.len() as f32;
        counts.iter().map(|&c| n / (classes as f32 * c.max(1) as f32)).collect()
    } else {
        vec![1.0; classes]
    };
    let per_epoch = data.train.len().div_ceil(cfg.batch);
    let total = per_epoch * cfg.epochs;
    let mut log = TrainLog {
        config: cfg.clone(),
        command: opts.command.clone(),
        train_hash: data.train_hash.clone(),
        train_counts: counts,
        val_n: data.val.len(),
        threads: crate::kernels::threads(),
        epochs: vec![],
        best_epoch: None,
        decision_offset: None,
        wall_seconds: 0.0,
    };
    let pb = progress_bar(total as u64, opts.quiet);
    let mut order: Vec<usize> = (0..data.train.len()).collect();
    // Fixed calibration subset of the train split (no augmentation) for precise batch-norm statistics.
    let calib: Vec<usize> = {
        let mut v = order.clone();
        v.shuffle(&mut ChaCha8Rng::seed_from_u64(mix_seed(cfg.seed, 0xB1, 0)));
        v.truncate(cfg.bn_recalibrate.min(v.len()));
        v
    };
    let mut best: Option<(ValFigures, usize, i64, Net)> = None;
    let mut step = 0usize;
    let mut init_done = false;
    for epoch in 1..=cfg.epochs {
        let te = Instant::now();
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(mix_seed(cfg.seed, 1, epoch as u64)));
        let (mut loss_sum, mut wsum, mut correct) = (0f64, 0f64, 0usize);
        for (bi, idx) in order.chunks(cfg.batch).enumerate() {
            let b = idx.len();
            // Augment in two fixed pieces; each image's draws depend only on (seed, epoch, position).
            let size = data.size;
            let pieces = par_parts(b, |_, r| {
                let mut px = Vec::with_capacity(r.len() * size * size);
                for j in r {
                    let mut rng = ChaCha8Rng::seed_from_u64(mix_seed(cfg.seed, 2 + epoch as u64, (bi * cfg.batch + j) as u64));
                    px.extend(cfg.augment.apply(&data.train[idx[j]].pixels, size, &mut rng));
                }
                px
            });
            let pixels: Vec<u8> = pieces.concat();
            let labels: Vec<u8> = idx.iter().map(|&i| data.train[i].label).collect();
            let x = net.input_values(&pixels);
            if !init_done {
                // Data-dependent logit scale: unit standard deviation on the first batch.
                let f = net.forward_train(x.clone(), b, Stats::Keep);
                let n = f.logits.len() as f64;
                let mean = f.logits.iter().map(|&v| v as f64).sum::<f64>() / n;
                let sd = (f.logits.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n).sqrt();
                if let Some(crate::net::Head::Logits { log_scale, .. }) = net.layers.last_mut().map(|l| &mut l.head)
                    && sd > 1e-9
                {
                    log_scale.v[0] -= sd.ln() as f32;
                }
                init_done = true;
            }
            let f = net.forward_train(x, b, Stats::Update);
            let (loss, dl) = match &distill {
                Some((tp, weight)) => {
                    let t: Vec<f32> = idx.iter().map(|&i| tp[i]).collect();
                    softmax_xent_distill(&f.logits, &labels, &class_w, &t, *weight)
                }
                None => softmax_xent_smoothed(&f.logits, &labels, &class_w, cfg.label_smoothing),
            };
            let bw: f64 = labels.iter().map(|&l| class_w[l as usize] as f64).sum();
            loss_sum += loss as f64 * bw;
            wsum += bw;
            for (i, &l) in labels.iter().enumerate() {
                let z = &f.logits[i * classes..(i + 1) * classes];
                let pred = if z[1] > z[0] { 1 } else { 0 };
                correct += (pred == l) as usize;
            }
            net.backward(f, &dl);
            step += 1;
            let lr = lr_at(cfg, step - 1, total, per_epoch);
            net.adam_step(lr, step as i32, cfg.weight_decay);
            if let Some(pb) = &pb {
                pb.inc(1);
                if bi % 8 == 0 {
                    let last = log.epochs.last().map_or(String::new(), |e: &EpochLog| format!("  val acc {:.1}% bal {:.1}%", 100.0 * e.val_accuracy, 100.0 * e.val_balanced_accuracy));
                    pb.set_message(format!("epoch {epoch}/{}  loss {:.4}{last}", cfg.epochs, loss_sum / wsum));
                }
            }
        }
        if cfg.bn_recalibrate > 0 {
            recalibrate_bn(&mut net, data, &calib, cfg.batch);
        }
        let int = net.int_net();
        let (fig, off) = validate(&int, data, cfg.offset_rule);
        let e = EpochLog {
            epoch,
            loss: loss_sum / wsum,
            train_accuracy: correct as f64 / data.train.len() as f64,
            lr: lr_at(cfg, step.saturating_sub(1), total, per_epoch) as f64,
            val_accuracy: fig.accuracy,
            val_balanced_accuracy: fig.balanced_accuracy,
            val_sensitivity: fig.sensitivity,
            val_specificity: fig.specificity,
            val_auc: fig.auc,
            val_offset: off,
            seconds: te.elapsed().as_secs_f64(),
        };
        let line = format!(
            "epoch {:>3}/{}  loss {:.4}  train acc {:.1}%  val acc {:.1}%  bal {:.1}%  auc {:.4}  lr {:.2e}  {:.1}s",
            epoch,
            cfg.epochs,
            e.loss,
            100.0 * e.train_accuracy,
            100.0 * e.val_accuracy,
            100.0 * e.val_balanced_accuracy,
            e.val_auc,
            e.lr,
            e.seconds
        );
        match &pb {
            Some(pb) => pb.println(line),
            None if !opts.quiet => eprintln!("{line}"),
            None => {}
        }
        // Selection on validation only: balanced accuracy, then AUC; earlier epoch on ties.
        let better = best.as_ref().is_none_or(|(b, ..)| {
            fig.balanced_accuracy > b.balanced_accuracy + 1e-12
                || ((fig.balanced_accuracy - b.balanced_accuracy).abs() <= 1e-12 && fig.auc > b.auc + 1e-12)
        });
        if better {
            best = Some((fig, epoch, off, net.clone()));
        }
        log.epochs.push(e);
        log.best_epoch = best.as_ref().map(|b| b.1);
        log.decision_offset = best.as_ref().map(|b| b.2);
        log.wall_seconds = t0.elapsed().as_secs_f64();
        write_log_files(&log, opts)?;
    }
    if let Some(pb) = &pb {
        pb.finish_and_clear();
    }
    let (fig, epoch, offset, net) = best.expect("at least one epoch");
    let int = net.int_net();
    let provenance = provenance(cfg, data, opts, &fig, epoch, offset, int.natural_offset());
    let name = format!("{}-{}-seed{}", cfg.arch, cfg.bits.tag(), cfg.seed);
    let model = export(&int, offset, &name, provenance)?;
    log.wall_seconds = t0.elapsed().as_secs_f64();
    write_log_files(&log, opts)?;
    Ok(TrainOutcome { model, net, int, offset, best: fig, log })
}

/// Replaces the running batch-norm statistics by their average over the calibration images, with
/// the current weights (the moving averages lag behind fast-changing binary weights).
pub fn recalibrate_bn(net: &mut Net, data: &TrainData, calib: &[usize], batch: usize) {
    for (n, idx) in calib.chunks(batch).enumerate() {
        if idx.len() < 2 {
            break;
        }
        let px: Vec<u8> = idx.iter().flat_map(|&i| data.train[i].pixels.iter().copied()).collect();
        let x = net.input_values(&px);
        net.forward_train(x, idx.len(), Stats::Average(n));
    }
}

fn write_log_files(log: &TrainLog, opts: &RunOptions) -> anyhow::Result<()> {
    if let Some(p) = &opts.log_path {
        let mut text = serde_json::to_string_pretty(log)?;
        text.push('\n');
        golden_model::io::write_atomic(p, text.as_bytes()).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", p.display()))?;
    }
    if let Some(p) = &opts.curve_path {
        let svg = crate::plot::learning_curve_svg(log)?;
        golden_model::io::write_atomic(p, svg.as_bytes()).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", p.display()))?;
    }
    Ok(())
}

fn provenance(
    cfg: &TrainConfig,
    data: &TrainData,
    opts: &RunOptions,
    fig: &ValFigures,
    epoch: usize,
    offset: i64,
    natural: i64,
) -> Provenance {
    let j = |v: serde_json::Value| v;
    // Floats in the file are rounded to short decimals, which JSON parsers read back to the same f64
    // (long ones may come back one ulp off and break the file checksum).
    let r6 = |x: f64| serde_json::Value::from((x * 1e6).round() / 1e6);
    let f32v = |x: f32| serde_json::Value::from(x.to_string().parse::<f64>().unwrap_or(0.0));
    let mut metrics = BTreeMap::new();
    metrics.insert("val_n".into(), j(fig.n.into()));
    metrics.insert("val_accuracy".into(), r6(fig.accuracy));
    metrics.insert("val_balanced_accuracy".into(), r6(fig.balanced_accuracy));
    metrics.insert("val_sensitivity".into(), r6(fig.sensitivity));
    metrics.insert("val_specificity".into(), r6(fig.specificity));
    metrics.insert("val_auc".into(), r6(fig.auc));
    let (params, macs) = cost(&cfg.layers, data.size);
    let mut extra = BTreeMap::new();
    extra.insert("trainer".into(), j("train crate: QAT (float shadow weights, STE), batch norm folded into integer thresholds".into()));
    extra.insert("wbits".into(), j(cfg.bits.wbits.into()));
    extra.insert("abits".into(), j(cfg.bits.abits.into()));
    extra.insert("in_bits".into(), j(cfg.bits.in_bits.into()));
    extra.insert("layers".into(), j(layers_to_string(&cfg.layers).into()));
    extra.insert("params".into(), j(params.into()));
    extra.insert("macs_per_image".into(), j(macs.into()));
    extra.insert("image_size".into(), j(data.size.into()));
    extra.insert("chosen_epoch".into(), j(epoch.into()));
    extra.insert("decision_offset".into(), j(offset.into()));
    extra.insert("natural_offset".into(), j(natural.into()));
    extra.insert(
        "selection".into(),
        j(format!(
            "decision offset (bias of logit 1) by the `{}` rule on the validation scores; epoch of maximum validation balanced accuracy at that offset; the test split is never loaded by training",
            cfg.offset_rule.name()
        )
        .into()),
    );
    extra.insert("val_data_hash".into(), j(data.val_hash.clone().into()));
    extra.insert("train_counts".into(), serde_json::json!(data.class_counts()));
    let mut augment = serde_json::json!({
        "shift_px": f32v(cfg.augment.shift),
        "rotate_deg": f32v(cfg.augment.rotate),
        "zoom": f32v(cfg.augment.zoom),
        "brightness": f32v(cfg.augment.brightness),
        "contrast": f32v(cfg.augment.contrast),
        "gamma_log": f32v(cfg.augment.gamma),
        "blur": f32v(cfg.augment.blur),
    });
    // Only when used, so models trained before the option existed re-train to identical files.
    if cfg.augment.aspect > 0.0 {
        augment["aspect_log"] = f32v(cfg.augment.aspect);
    }
    if let Some(d) = &cfg.distill {
        extra.insert(
            "distillation".into(),
            serde_json::json!({
                "teacher": d.teacher,
                "teacher_hash": d.teacher_hash,
                "weight": f32v(d.weight),
                "scale": f32v(d.scale),
                "targets": "(1 - weight) onehot + weight (1 - t, t), t = sigmoid(scale * margin / sd(margin)), teacher margins on un-augmented train images",
            }),
        );
    }
    extra.insert(
        "hyperparameters".into(),
        serde_json::json!({
            "epochs": cfg.epochs,
            "batch": cfg.batch,
            "optimizer": "adam",
            "lr": f32v(cfg.lr),
            "warmup_epochs": f32v(cfg.warmup_epochs),
            "schedule": "linear warm-up, cosine decay",
            "weight_decay": f32v(cfg.weight_decay),
            "act_range": f32v(cfg.act_range),
            "augment": augment,
            "label_smoothing": f32v(cfg.label_smoothing),
            "offset_rule": cfg.offset_rule.name(),
            "class_balanced_loss": cfg.class_balanced,
            "bn_recalibrate_images": cfg.bn_recalibrate,
            "bn_eps": f32v(crate::net::BN_EPS),
            "bn_momentum": f32v(crate::net::BN_MOMENTUM),
        }),
    );
    Provenance {
        arch: Some(cfg.arch.name().into()),
        command: Some(opts.command.clone()).filter(|c| !c.is_empty()),
        seed: Some(cfg.seed),
        data_hash: Some(data.train_hash.clone()),
        metrics,
        extra,
    }
}
