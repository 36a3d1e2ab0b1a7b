//! `cargo xtask eval`: a model's metrics on a split, computed with the golden model.

use anyhow::{Context, bail};
use dataset::{CLASSES, Dataset, Split};
use golden_model::Model;
use golden_model::metrics::{EvaluationRecord, evaluate};
use std::path::PathBuf;
use std::time::Instant;

/// Model used when `--model` is not given, relative to the workspace root.
const DEFAULT_MODEL: &str = "models/default.qnn.json";

#[derive(clap::Args)]
#[command(
    about = "Accuracy, sensitivity, specificity, AUC ... of a model on a split (golden model)",
    after_help = "Run a model (golden model, bit-exact with the hardware) on every image of a split and print \
                  n, accuracy with its 95 % Wilson interval, sensitivity, specificity, balanced accuracy, AUC \
                  and the confusion matrix. The positive class is PNEUMONIA; the AUC score is logit[1] - logit[0].\n\n\
                  Images are loaded at the model's input size (grayscale, area-averaged resize).\n\n\
                  Examples:\n  cargo xtask eval\n  cargo xtask eval --model models/w1a1.qnn.json --split val --json out/eval.json"
)]
pub struct Args {
    /// Model file (*.qnn.json) [default: models/default.qnn.json in the workspace]
    #[arg(long, value_name = "FILE")]
    model: Option<PathBuf>,
    /// Root of a chest_xray tree ({train,test,val}/{NORMAL,PNEUMONIA}/*) [default: the vendored data/chest_xray]
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Split to evaluate on: test (official test set, for final figures), val (patient-grouped 10 % of
    /// official train, for model selection), train, or official-val (the 16-image official val folder)
    #[arg(long, value_name = "SPLIT", default_value = "test")]
    split: Split,
    /// Also write the metrics, model name and hash, split and data root as JSON to this file
    #[arg(long, value_name = "OUT")]
    json: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let model_path = match args.model {
        Some(p) => p,
        None => {
            let p = crate::project_root().join(DEFAULT_MODEL);
            if !p.is_file() {
                bail!(
                    "no model given and the default model {} does not exist yet; pass one with \
                     `--model FILE` (a *.qnn.json, e.g. written by `cargo xtask train`)",
                    p.display()
                );
            }
            p
        }
    };
    let model = Model::load(&model_path).with_context(|| {
        format!(
            "loading model {} (check the path given to --model)",
            model_path.display()
        )
    })?;
    let size = square_grayscale_side(&model)?;
    let data_root = args.data.unwrap_or_else(dataset::default_root);

    let start = Instant::now();
    let data = Dataset::load(&data_root, args.split, size)?;
    let load_secs = start.elapsed().as_secs_f64();
    let images: Vec<(&[u8], u8)> = data.samples.iter().map(|s| (s.pixels.as_slice(), s.label)).collect();
    let start = Instant::now();
    let metrics = evaluate(&model, &images).with_context(|| format!("evaluating {}", model_path.display()))?;
    let eval_secs = start.elapsed().as_secs_f64();

    let record = EvaluationRecord {
        model: model.name().to_string(),
        model_hash: model.content_hash(),
        split: args.split.name().to_string(),
        data_root: data_root.display().to_string(),
        data_hash: data.content_hash(),
        metrics,
    };
    println!(
        "model  {} ({}), sha256 {}",
        record.model,
        model_path.display(),
        record.model_hash
    );
    println!(
        "data   {} split {}: {} images at {size}x{size} (loaded in {load_secs:.2} s, inferred in {eval_secs:.2} s)",
        record.data_root,
        record.split,
        data.len()
    );
    println!("{}", record.metrics);
    if let Some(out) = &args.json {
        let text = serde_json::to_string_pretty(&record)? + "\n";
        golden_model::io::write_atomic(out, text.as_bytes())
            .with_context(|| format!("writing {}; check that the directory is writable", out.display()))?;
        println!("wrote {}", out.display());
    }
    Ok(())
}

/// The data set holds square grayscale images in the order NORMAL, PNEUMONIA; a model that expects
/// anything else would produce meaningless metrics, so refuse it with the reason.
fn square_grayscale_side(model: &Model) -> anyhow::Result<usize> {
    let shape = model.input_shape();
    if shape.height != shape.width || shape.channels != 1 {
        bail!(
            "model {} expects {shape} inputs; the chest X-ray data are square grayscale images (N x N x 1)",
            model.name()
        );
    }
    let classes_match = model.classes().len() == CLASSES.len()
        && model
            .classes()
            .iter()
            .zip(CLASSES)
            .all(|(a, b)| a.eq_ignore_ascii_case(b));
    if !classes_match {
        bail!(
            "model {} has classes {:?}; evaluation needs exactly {:?} in that order (label 0 = NORMAL, 1 = PNEUMONIA)",
            model.name(),
            model.classes(),
            CLASSES
        );
    }
    Ok(shape.height)
}
