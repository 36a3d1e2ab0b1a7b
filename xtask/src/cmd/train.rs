//! `cargo xtask train`: quantization-aware training of one model, exported as a golden-model file.

use anyhow::Context;
use std::path::{Path, PathBuf};
use train::{Arch, Augment, Bits, LayerSpec, RunOptions, TrainConfig, TrainData};

fn parse_bits(s: &str) -> Result<u8, String> {
    match s.parse::<u8>() {
        Ok(b) if golden_model::value::SUPPORTED_BITS.contains(&b) => Ok(b),
        _ => Err(format!("`{s}` is not a supported bit width (1, 2, 4 or 8)")),
    }
}

#[derive(clap::Args)]
#[command(
    about = "Quantization-aware training of a model at given bit widths",
    after_help = "Quantization-aware training (float shadow weights, straight-through estimators, batch norm \
folded into integer thresholds at export) of a chest X-ray classifier (NORMAL / PNEUMONIA, 64x64 grayscale), \
written as a golden-model file (*.qnn.json).\n\n\
The decision offset (bias of logit 1) and the epoch are chosen on the patient-grouped validation split: \
by default the decision boundary lies halfway between the median validation scores of the two classes \
(--offset-rule), and the epoch has the best validation balanced accuracy at that offset; the test split \
is never loaded. The same seed gives a byte-identical model file.\n\n\
Also writes <out stem>.log.json (per-epoch loss, validation accuracy, balanced accuracy, AUC, learning rate, \
seconds) and <out stem>.curve.svg (learning curve) next to the model.\n\n\
`w1a1` means every weight 1-bit and every hidden activation 1-bit; the first layer reads the 8-bit pixels \
unless --in-bits says otherwise (as FINN's CNV-w1a1 does).\n\n\
Examples:\n  cargo xtask train --arch cnv --wbits 1 --abits 1 --seed 0 --out models/default.qnn.json\n  \
cargo xtask train --arch mlp --wbits 2 --abits 2 --seed 1 --epochs 10 --out /tmp/mlp-w2a2.qnn.json"
)]
pub struct Args {
    /// Architecture: `cnv` (4 x [conv3x3 + max-pool] 16-32-96-128, dense 256, 2 logits) or `mlp`
    /// (4096-256-256-256-2, FINN SFC style)
    #[arg(long, default_value = "cnv", value_parser = |s: &str| s.parse::<Arch>())]
    arch: Arch,
    /// Weight bits of every layer: 1 (bipolar), 2, 4 or 8 (signed, symmetric)
    #[arg(long, value_parser = parse_bits)]
    wbits: u8,
    /// Hidden activation bits: 1 (bipolar), 2, 4 or 8 (unsigned)
    #[arg(long, value_parser = parse_bits)]
    abits: u8,
    /// Bits of the input quantizer feeding the first layer (8 = raw pixels)
    #[arg(long, default_value_t = 8, value_parser = parse_bits)]
    in_bits: u8,
    /// Seed of initialisation, shuffling and augmentation
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Epochs (default: 30; 15 for the CNV when weights and activations are both multi-bit)
    #[arg(long)]
    epochs: Option<usize>,
    /// chest_xray data directory (default: the vendored 64x64 copy, data/chest_xray)
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Output model file (*.qnn.json)
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Mini-batch size (default 64)
    #[arg(long)]
    batch: Option<usize>,
    /// Peak learning rate (default 3e-3 for 1-bit weights, 2e-3 otherwise)
    #[arg(long)]
    lr: Option<f32>,
    /// Hidden layers instead of the architecture's, e.g. `c16p,c32p,c64p,c64p,d128` (cN = conv3x3 with
    /// N channels, p = max-pool after it, dN = dense)
    #[arg(long)]
    layers: Option<String>,
    /// Clip range of multi-bit activations (default 2.0)
    #[arg(long)]
    act_range: Option<f32>,
    /// Decoupled weight decay of multi-bit weights (default 1e-4)
    #[arg(long)]
    weight_decay: Option<f32>,
    /// Train without augmentation (same as --augment none)
    #[arg(long)]
    no_augment: bool,
    /// Augmentation preset: none, light (shift/rotate/zoom/brightness/contrast) or strong (larger
    /// ranges plus gamma and blur/sharpen), acquisition (strong plus aspect-ratio changes)
    /// [default: acquisition for cnv, light for mlp]
    #[arg(long, value_parser = |s: &str| Augment::preset(s).ok_or_else(|| format!("unknown augmentation `{s}` (none, light, strong, acquisition)")))]
    augment: Option<Augment>,
    /// Label smoothing of the cross-entropy targets (0 = one-hot)
    #[arg(long)]
    label_smoothing: Option<f32>,
    /// Decision-offset rule on validation scores: max-balanced (maximum balanced accuracy) or
    /// class-medians (halfway between the class medians)
    #[arg(long, value_parser = |s: &str| s.parse::<train::select::OffsetRule>())]
    offset_rule: Option<train::select::OffsetRule>,
    /// Train images over which batch-norm statistics are re-estimated before each validation
    /// (default 1024; 0 keeps the moving averages)
    #[arg(long)]
    bn_recalibrate: Option<usize>,
    /// Knowledge distillation: mix the labels with the soft predictions of this trained model
    /// (e.g. a multi-bit model of the same data), see --distill-weight and --distill-scale
    #[arg(long, value_name = "FILE")]
    teacher: Option<PathBuf>,
    /// Weight of the teacher's soft targets in the loss target (default 0.5; needs --teacher)
    #[arg(long)]
    distill_weight: Option<f32>,
    /// Teacher confidence: its probability of PNEUMONIA is sigmoid(scale * margin / sd), sd the spread
    /// of its margins over the train split (default 2.0; needs --teacher)
    #[arg(long)]
    distill_scale: Option<f32>,
    /// Plain class-frequency loss instead of the class-balanced one
    #[arg(long)]
    unbalanced: bool,
    /// No progress bar and no per-epoch lines
    #[arg(long, short)]
    quiet: bool,
}

/// `a/b/name.qnn.json` -> `a/b/name` + suffix.
fn sibling(out: &Path, suffix: &str) -> PathBuf {
    let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let stem = name.strip_suffix(".qnn.json").or_else(|| name.strip_suffix(".json")).unwrap_or(&name);
    out.with_file_name(format!("{stem}{suffix}"))
}

fn shell_quote(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,+".contains(c)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let bits = Bits::new(args.wbits, args.abits, args.in_bits).map_err(anyhow::Error::msg)?;
    let mut cfg = TrainConfig::new(args.arch, bits, args.seed);
    if let Some(e) = args.epochs {
        anyhow::ensure!(e > 0, "--epochs must be at least 1");
        cfg.epochs = e;
    }
    if let Some(b) = args.batch {
        anyhow::ensure!(b > 1, "--batch must be at least 2 (batch norm needs batch statistics)");
        cfg.batch = b;
    }
    if let Some(lr) = args.lr {
        anyhow::ensure!(lr > 0.0 && lr.is_finite(), "--lr must be positive");
        cfg.lr = lr;
    }
    if let Some(l) = &args.layers {
        cfg.layers = LayerSpec::parse_list(l).map_err(anyhow::Error::msg)?;
    }
    if let Some(r) = args.act_range {
        anyhow::ensure!(r > 0.0 && r.is_finite(), "--act-range must be positive");
        cfg.act_range = r;
    }
    if let Some(wd) = args.weight_decay {
        cfg.weight_decay = wd;
    }
    if let Some(n) = args.bn_recalibrate {
        cfg.bn_recalibrate = n;
    }
    if let Some(a) = args.augment {
        cfg.augment = a;
    }
    if args.no_augment {
        cfg.augment = Augment::NONE;
    }
    if let Some(e) = args.label_smoothing {
        anyhow::ensure!((0.0..1.0).contains(&e), "--label-smoothing must be in [0, 1)");
        cfg.label_smoothing = e;
    }
    if let Some(r) = args.offset_rule {
        cfg.offset_rule = r;
    }
    cfg.class_balanced = !args.unbalanced;
    let teacher = match &args.teacher {
        Some(path) => {
            let t = golden_model::Model::load(path).with_context(|| format!("cannot load teacher model {}", path.display()))?;
            anyhow::ensure!(t.classes().len() == 2, "teacher model {} has {} classes; distillation needs a two-class model", path.display(), t.classes().len());
            let weight = args.distill_weight.unwrap_or(0.5);
            anyhow::ensure!((0.0..=1.0).contains(&weight), "--distill-weight must be in [0, 1]");
            let scale = args.distill_scale.unwrap_or(2.0);
            anyhow::ensure!(scale > 0.0 && scale.is_finite(), "--distill-scale must be positive");
            cfg.distill = Some(train::Distill { teacher: path.display().to_string(), teacher_hash: t.content_hash(), weight, scale });
            Some(t)
        }
        None => {
            anyhow::ensure!(
                args.distill_weight.is_none() && args.distill_scale.is_none(),
                "--distill-weight and --distill-scale need --teacher FILE"
            );
            None
        }
    };
    train::arch::geometry(&cfg.layers, train::arch::INPUT_SIZE, 2).map_err(anyhow::Error::msg)?;

    // Fail before training, not after it, when the output cannot be written.
    let out = args.out.clone();
    let dir = match out.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create output directory {}", dir.display()))?;
    let probe = dir.join(format!(".train-write-probe-{}", std::process::id()));
    std::fs::write(&probe, b"").with_context(|| format!("output directory {} is not writable", dir.display()))?;
    let _ = std::fs::remove_file(&probe);
    anyhow::ensure!(!out.is_dir(), "--out {} is a directory; give a file name such as model.qnn.json", out.display());

    let root = args.data.clone().unwrap_or_else(dataset::default_root);
    eprintln!("loading train and validation splits from {}", root.display());
    let data = TrainData::load(&root, train::arch::INPUT_SIZE)?;
    let (params, macs) = train::arch::cost(&cfg.layers, data.size);
    eprintln!(
        "{} {} seed {}: layers {} ({} weights, {} MACs/image), {} train ({} NORMAL / {} PNEUMONIA), {} validation, {} epochs, {} threads",
        cfg.arch,
        bits.tag(),
        cfg.seed,
        train::arch::layers_to_string(&cfg.layers),
        params,
        macs,
        data.train.len(),
        data.class_counts()[0],
        data.class_counts()[1],
        data.val.len(),
        cfg.epochs,
        train::kernels::threads()
    );
    let argv: Vec<String> = std::env::args().skip(1).map(|a| shell_quote(&a)).collect();
    let opts = RunOptions {
        command: format!("cargo xtask {}", argv.join(" ")),
        quiet: args.quiet,
        log_path: Some(sibling(&out, ".log.json")),
        curve_path: Some(sibling(&out, ".curve.svg")),
    };
    let outcome = train::train_with_teacher(&data, &cfg, &opts, teacher.as_ref())?;
    outcome.model.save(&out).with_context(|| format!("cannot write {}", out.display()))?;
    let b = &outcome.best;
    println!(
        "{}: epoch {} of {}, decision offset {}, validation accuracy {:.2}%, balanced {:.2}%, sensitivity {:.2}%, specificity {:.2}%, AUC {:.4}; wall time {:.1} s",
        out.display(),
        outcome.log.best_epoch.unwrap_or(0),
        cfg.epochs,
        outcome.offset,
        100.0 * b.accuracy,
        100.0 * b.balanced_accuracy,
        100.0 * b.sensitivity,
        100.0 * b.specificity,
        b.auc,
        outcome.log.wall_seconds
    );
    println!("log {}, learning curve {}", opts.log_path.unwrap().display(), opts.curve_path.unwrap().display());
    Ok(())
}
