//! `cargo xtask eval`: a model's metrics on a split, computed with the golden model.

use anyhow::{Context, bail};
use dataset::{CLASSES, Dataset, Split};
use golden_model::metrics::{EvaluationRecord, binary_metrics};
use golden_model::{Inference, Model as Model};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Model used when `--model` is not given, relative to the workspace root.
const DEFAULT_MODEL: &str = "models/default.qnn.json";

#[derive(clap::Args)]
#[command(
    about = "Accuracy, sensitivity, specificity, AUC ... of a model on a split (golden model)",
    after_help = "Run a model (golden model, bit-exact with the hardware) on every image of a split and print \
                  n, accuracy with its 95 % Wilson interval, sensitivity, specificity, balanced accuracy, AUC \
                  and the confusion matrix. The positive class is PNEUMONIA; the AUC score is logit[1] - logit[0].\n\n\
                  Images are loaded at the model's input size (grayscale, area-averaged resize) and inferred on all cores; the \
                  results do not depend on the number of threads.\n\n\
                  --per-image FILE writes one row per image (file name, true label, predicted label, logit0, logit1, \
                  score = logit1 - logit0) as CSV, or as JSON when FILE ends in .json, for error analysis and ROC curves.\n\n\
                  Examples:\n  cargo xtask eval\n  cargo xtask eval --model models/w1a1.qnn.json --split val --json out/eval.json\n  \
                  cargo xtask eval --per-image out/test-images.csv"
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
    /// Also write every image's file name, labels, logits and score to FILE (.csv or .json)
    #[arg(long, value_name = "FILE")]
    per_image: Option<PathBuf>,
    /// NPY test vectors (N x C x H x W, NCHW) instead of a split: integer pixels, or floats = pixel x
    /// the model's input scale (an imported model's provenance has it); any number of classes
    #[arg(long, value_name = "input.npy", conflicts_with_all = ["data", "split"])]
    inputs: Option<PathBuf>,
    /// Expected labels for --inputs: NPY of N labels, or N x classes logits (argmax); gives accuracy
    #[arg(long, value_name = "expected_output.npy", requires = "inputs")]
    expected: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let per_image_format = if args.inputs.is_some() { None } else { args.per_image.as_deref().map(PerImageFormat::of).transpose()? };
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
    if let Some(inputs) = &args.inputs {
        return eval_vectors(&model, &model_path, inputs, args.expected.as_deref(), args.json.as_deref(), args.per_image.as_deref());
    }
    let size = square_grayscale_side(&model)?;
    let data_root = args.data.unwrap_or_else(dataset::default_root);

    let start = Instant::now();
    let data = Dataset::load(&data_root, args.split, size)?;
    let load_secs = start.elapsed().as_secs_f64();
    let pixels: Vec<&[u8]> = data.samples.iter().map(|s| s.pixels.as_slice()).collect();
    let start = Instant::now();
    let inferred = model
        .infer_batch(&pixels)
        .map_err(|(i, e)| anyhow::anyhow!("{}: {e}", data.samples[i].path.display()))
        .with_context(|| format!("evaluating {}", model_path.display()))?;
    let eval_secs = start.elapsed().as_secs_f64();
    let labels: Vec<u8> = data.samples.iter().map(|s| s.label).collect();
    let predicted: Vec<u8> = inferred.iter().map(|r| r.label as u8).collect();
    let scores: Vec<i64> = inferred.iter().map(Inference::score).collect();
    let metrics = binary_metrics(&labels, &predicted, &scores).with_context(|| format!("evaluating {}", model_path.display()))?;

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
    if let (Some(out), Some(format)) = (&args.per_image, per_image_format) {
        let rows: Vec<(&Path, u8, &Inference)> =
            data.samples.iter().zip(&inferred).map(|(s, r)| (s.path.as_path(), s.label, r)).collect();
        golden_model::io::write_atomic(out, format.render(&rows)?.as_bytes())
            .with_context(|| format!("writing {}; check that the directory is writable", out.display()))?;
        println!("wrote {} ({} images)", out.display(), rows.len());
    }
    Ok(())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PerImageFormat {
    Csv,
    Json,
}

impl PerImageFormat {
    /// Chosen by extension, before any work, so a typo does not cost a whole evaluation.
    fn of(path: &Path) -> anyhow::Result<Self> {
        match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("csv") => Ok(PerImageFormat::Csv),
            Some("json") => Ok(PerImageFormat::Json),
            _ => bail!("--per-image {}: name the file *.csv or *.json to choose the format", path.display()),
        }
    }

    fn render(self, rows: &[(&Path, u8, &Inference)]) -> anyhow::Result<String> {
        let logit = |r: &Inference, i: usize| r.logits.get(i).copied().unwrap_or(0);
        Ok(match self {
            PerImageFormat::Csv => {
                let mut s = String::from("file,true_label,predicted_label,logit0,logit1,score\n");
                for (path, label, r) in rows {
                    s += &format!(
                        "{},{label},{},{},{},{}\n",
                        csv_field(&path.display().to_string()),
                        r.label,
                        logit(r, 0),
                        logit(r, 1),
                        r.score()
                    );
                }
                s
            }
            PerImageFormat::Json => {
                let v: Vec<serde_json::Value> = rows
                    .iter()
                    .map(|(path, label, r)| {
                        serde_json::json!({
                            "file": path.display().to_string(),
                            "true_label": label,
                            "predicted_label": r.label,
                            "logit0": logit(r, 0),
                            "logit1": logit(r, 1),
                            "score": r.score(),
                        })
                    })
                    .collect();
                serde_json::to_string_pretty(&v)? + "\n"
            }
        })
    }
}

/// A CSV field, quoted when it holds a comma, quote or line break (RFC 4180).
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
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

/// `--inputs`: golden-model labels and logits of NPY test vectors, accuracy against `--expected`.
fn eval_vectors(model: &Model, model_path: &Path, inputs: &Path, expected: Option<&Path>, json: Option<&Path>, per_image: Option<&Path>) -> anyhow::Result<()> {
    let x = qonnx::npy::Npy::read(inputs).map_err(anyhow::Error::msg)?;
    let scale = model.provenance.extra.get("input_scale").and_then(|v| v.as_f64()).unwrap_or(1.0);
    let images = qonnx::vectors::images(&x, model.input_shape(), scale).map_err(|e| anyhow::anyhow!("{}: {e}", inputs.display()))?;
    let n = images.len();
    let want = match expected {
        Some(p) => {
            let e = qonnx::npy::Npy::read(p).map_err(anyhow::Error::msg)?;
            Some(qonnx::vectors::labels(&e, n, model.classes().len()).map_err(|m| anyhow::anyhow!("{}: {m}", p.display()))?)
        }
        None => None,
    };
    let refs: Vec<&[u8]> = images.iter().map(|v| v.as_slice()).collect();
    let inferred = model.infer_batch(&refs).map_err(|(i, e)| anyhow::anyhow!("input {i}: {e}"))?;
    println!("model  {} ({}), sha256 {}", model.name(), model_path.display(), model.content_hash());
    println!("inputs {}: {n} tensors", inputs.display());
    let mut counts = vec![0usize; model.classes().len()];
    for r in &inferred {
        counts[r.label] += 1;
    }
    println!("predicted labels per class: {counts:?}");
    let accuracy = want.as_ref().map(|w| {
        let ok = inferred.iter().zip(w).filter(|(r, w)| r.label == **w).count();
        let ci = golden_model::metrics::wilson_interval(ok as u64, n as u64, 1.959964);
        println!("accuracy {:.4} ({ok} of {n} equal the expected labels; Wilson 95 % CI {:.4}-{:.4})", ok as f64 / n.max(1) as f64, ci.low, ci.high);
        (ok, ci)
    });
    if let Some(out) = json {
        let doc = serde_json::json!({ "model": model.name(), "model_hash": model.content_hash(), "inputs": inputs.display().to_string(),
            "n": n, "predicted_per_class": counts,
            "correct": accuracy.as_ref().map(|a| a.0), "accuracy_ci95": accuracy.as_ref().map(|a| [a.1.low, a.1.high]) });
        golden_model::io::write_atomic(out, (serde_json::to_string_pretty(&doc)? + "\n").as_bytes())?;
        println!("wrote {}", out.display());
    }
    if let Some(out) = per_image {
        let mut csv = String::from("index,expected,predicted");
        for c in 0..model.classes().len() {
            csv += &format!(",logit{c}");
        }
        csv.push('\n');
        for (i, r) in inferred.iter().enumerate() {
            let e = want.as_ref().map_or(String::new(), |w| w[i].to_string());
            csv += &format!("{i},{e},{}", r.label);
            for l in &r.logits {
                csv += &format!(",{l}");
            }
            csv.push('\n');
        }
        golden_model::io::write_atomic(out, csv.as_bytes())?;
        println!("wrote {} ({n} rows, CSV)", out.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_image_format_follows_the_extension() {
        assert_eq!(PerImageFormat::of(Path::new("a/b.CSV")).unwrap(), PerImageFormat::Csv);
        assert_eq!(PerImageFormat::of(Path::new("b.json")).unwrap(), PerImageFormat::Json);
        let e = PerImageFormat::of(Path::new("b.txt")).unwrap_err().to_string();
        assert!(e.contains("*.csv or *.json"), "{e}");
    }

    #[test]
    fn per_image_rows_hold_labels_logits_and_score() {
        let r = Inference::from_logits(vec![3, -4]);
        let rows = [(Path::new("test/NORMAL/a,b.png"), 1u8, &r)];
        let csv = PerImageFormat::Csv.render(&rows).unwrap();
        assert_eq!(csv, "file,true_label,predicted_label,logit0,logit1,score\n\"test/NORMAL/a,b.png\",1,0,3,-4,-7\n");
        let json: serde_json::Value = serde_json::from_str(&PerImageFormat::Json.render(&rows).unwrap()).unwrap();
        assert_eq!(json[0]["score"], -7);
        assert_eq!(json[0]["predicted_label"], 0);
        assert_eq!(json[0]["file"], "test/NORMAL/a,b.png");
    }
}
