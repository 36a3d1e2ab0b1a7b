//! Test-split accuracy reports of exported models: final reporting only, never used by training or
//! selection (the models are fixed before this runs).
//!
//! One JSON file per model (`<arch>-<wXaY>-seed<S>.json`: the golden model's metrics on the official
//! test split, from `golden_model::metrics`, plus what identifies the model and its training) and a
//! summary with the mean and spread over seeds per architecture and bit width.

use dataset::{Dataset, Split};
use golden_model::Model;
use golden_model::metrics::{EvaluationRecord, evaluate};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// One model's test-split figures.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SeedResult {
    pub arch: String,
    pub bits: String,
    pub wbits: u8,
    pub abits: u8,
    pub in_bits: u8,
    pub seed: u64,
    pub layers: String,
    /// Training command from the model's provenance.
    pub command: String,
    pub chosen_epoch: Option<u64>,
    pub decision_offset: Option<i64>,
    /// Validation figures the model was selected with (from its provenance).
    pub val_accuracy: Option<f64>,
    pub val_balanced_accuracy: Option<f64>,
    pub val_auc: Option<f64>,
    /// Training wall time (from the training log next to the model, when present).
    pub train_seconds: Option<f64>,
    #[serde(flatten)]
    pub test: EvaluationRecord,
}

fn extra_u64(m: &Model, k: &str) -> Option<u64> {
    m.provenance.extra.get(k).and_then(|v| v.as_u64())
}

/// Evaluates `model` on the official test split of `root` with the golden model.
pub fn evaluate_test(model: &Model, model_file: &Path, root: &Path) -> anyhow::Result<SeedResult> {
    let size = model.input_shape().height;
    let test = Dataset::load(root, Split::Test, size)
        .map_err(|e| anyhow::anyhow!("cannot load the test split from {}: {e}", root.display()))?;
    let images: Vec<(&[u8], u8)> = test.samples.iter().map(|s| (s.pixels.as_slice(), s.label)).collect();
    let metrics = evaluate(model, &images)?;
    let p = &model.provenance;
    let wbits = extra_u64(model, "wbits").unwrap_or(0) as u8;
    let abits = extra_u64(model, "abits").unwrap_or(0) as u8;
    let in_bits = extra_u64(model, "in_bits").unwrap_or(8) as u8;
    let bits = crate::Bits { wbits, abits, in_bits }.tag();
    let log = {
        let name = model_file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let stem = name.strip_suffix(".qnn.json").unwrap_or(&name).to_string();
        model_file.with_file_name(format!("{stem}.log.json"))
    };
    let train_seconds = std::fs::read_to_string(&log)
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v.get("wall_seconds").and_then(|s| s.as_f64()));
    Ok(SeedResult {
        arch: p.arch.clone().unwrap_or_default(),
        bits,
        wbits,
        abits,
        in_bits,
        seed: p.seed.unwrap_or(0),
        layers: p.extra.get("layers").and_then(|v| v.as_str()).unwrap_or_default().to_string(),
        command: p.command.clone().unwrap_or_default(),
        chosen_epoch: extra_u64(model, "chosen_epoch"),
        decision_offset: p.extra.get("decision_offset").and_then(|v| v.as_i64()),
        val_accuracy: p.metrics.get("val_accuracy").and_then(|v| v.as_f64()),
        val_balanced_accuracy: p.metrics.get("val_balanced_accuracy").and_then(|v| v.as_f64()),
        val_auc: p.metrics.get("val_auc").and_then(|v| v.as_f64()),
        train_seconds,
        test: EvaluationRecord {
            model: model.name().to_string(),
            model_hash: model.content_hash(),
            split: "test".into(),
            data_root: root.display().to_string(),
            data_hash: test.content_hash(),
            metrics,
        },
    })
}

/// Mean, sample standard deviation, min and max of one figure over seeds.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Spread {
    pub mean: f64,
    pub std: f64,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    pub fn of(v: &[f64]) -> Spread {
        let n = v.len().max(1) as f64;
        let mean = v.iter().sum::<f64>() / n;
        let std = if v.len() > 1 { (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt() } else { 0.0 };
        Spread {
            mean,
            std,
            min: v.iter().copied().fold(f64::INFINITY, f64::min),
            max: v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GroupSummary {
    pub arch: String,
    pub bits: String,
    pub layers: String,
    pub seeds: Vec<u64>,
    pub n_test: u64,
    pub accuracy: Spread,
    pub sensitivity: Spread,
    pub specificity: Spread,
    pub balanced_accuracy: Spread,
    pub auc: Spread,
    pub train_seconds: Option<Spread>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Summary {
    pub split: String,
    pub note: String,
    pub groups: Vec<GroupSummary>,
}

/// Groups results by (architecture, bit widths, layers) and averages over seeds.
pub fn summarize(results: &[SeedResult]) -> Summary {
    let mut groups: BTreeMap<(String, String, String), Vec<&SeedResult>> = BTreeMap::new();
    for r in results {
        groups.entry((r.arch.clone(), r.bits.clone(), r.layers.clone())).or_default().push(r);
    }
    let groups = groups
        .into_iter()
        .map(|((arch, bits, layers), mut rs)| {
            rs.sort_by_key(|r| r.seed);
            let m = |f: &dyn Fn(&SeedResult) -> Option<f64>| Spread::of(&rs.iter().filter_map(|r| f(r)).collect::<Vec<_>>());
            let secs: Vec<f64> = rs.iter().filter_map(|r| r.train_seconds).collect();
            GroupSummary {
                arch,
                bits,
                layers,
                seeds: rs.iter().map(|r| r.seed).collect(),
                n_test: rs[0].test.metrics.n,
                accuracy: m(&|r| Some(r.test.metrics.accuracy)),
                sensitivity: m(&|r| r.test.metrics.sensitivity),
                specificity: m(&|r| r.test.metrics.specificity),
                balanced_accuracy: m(&|r| r.test.metrics.balanced_accuracy),
                auc: m(&|r| r.test.metrics.auc),
                train_seconds: (!secs.is_empty()).then(|| Spread::of(&secs)),
            }
        })
        .collect();
    Summary {
        split: "test (official, 624 images: 234 NORMAL / 390 PNEUMONIA)".into(),
        note: "golden integer model; models and decision offsets were chosen on the patient-grouped validation split only".into(),
        groups,
    }
}

/// Markdown table of a summary (means over seeds, +- sample standard deviation).
pub fn summary_markdown(s: &Summary) -> String {
    let mut out = String::from(
        "| arch | bits | seeds | accuracy % | sensitivity % | specificity % | balanced acc. % | AUC | train s |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    for g in &s.groups {
        let p = |x: &Spread| format!("{:.2} ± {:.2}", 100.0 * x.mean, 100.0 * x.std);
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {:.4} ± {:.4} | {} |\n",
            g.arch,
            g.bits,
            g.seeds.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(","),
            p(&g.accuracy),
            p(&g.sensitivity),
            p(&g.specificity),
            p(&g.balanced_accuracy),
            g.auc.mean,
            g.auc.std,
            g.train_seconds.as_ref().map_or("".into(), |t| format!("{:.0}", t.mean)),
        ));
    }
    out
}
