//! Test-split figures of trained models, one JSON per model plus a summary over seeds.
//!
//! ```text
//! cargo run --release -p train --bin accuracy-report -- [--data DIR] [--out DIR] MODEL.qnn.json...
//! ```
//!
//! Writes `<out>/<model file stem>.json` per model, then `<out>/summary.json` and `<out>/summary.md`
//! over every per-model JSON in `<out>` (default `reports/accuracy`). The models must already be
//! final: this is reporting, not selection.

use std::path::PathBuf;
use train::report::{SeedResult, evaluate_test, summarize, summary_markdown};

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn run() -> anyhow::Result<()> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace").to_path_buf();
    let mut data = dataset::default_root();
    let mut out = root.join("reports/accuracy");
    let mut models = vec![];
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--data" => data = args.next().ok_or_else(|| anyhow::anyhow!("--data needs a directory"))?.into(),
            "--out" => out = args.next().ok_or_else(|| anyhow::anyhow!("--out needs a directory"))?.into(),
            "-h" | "--help" => {
                println!("usage: accuracy-report [--data DIR] [--out DIR] MODEL.qnn.json...");
                return Ok(());
            }
            _ if a.starts_with("--") => anyhow::bail!("unknown option {a}"),
            _ => models.push(PathBuf::from(a)),
        }
    }
    std::fs::create_dir_all(&out)?;
    for m in &models {
        let model = golden_model::Model::load(m)?;
        let r = evaluate_test(&model, m, &data)?;
        let name = m.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let stem = name.strip_suffix(".qnn.json").unwrap_or(&name);
        let path = out.join(format!("{stem}.json"));
        let mut text = serde_json::to_string_pretty(&r)?;
        text.push('\n');
        golden_model::io::write_atomic(&path, text.as_bytes())?;
        let t = &r.test.metrics;
        println!(
            "{stem}: accuracy {:.2}%  sensitivity {:.2}%  specificity {:.2}%  balanced {:.2}%  AUC {:.4}",
            100.0 * t.accuracy,
            100.0 * t.sensitivity.unwrap_or(f64::NAN),
            100.0 * t.specificity.unwrap_or(f64::NAN),
            100.0 * t.balanced_accuracy.unwrap_or(f64::NAN),
            t.auc.unwrap_or(f64::NAN)
        );
    }
    let mut all = vec![];
    for e in std::fs::read_dir(&out)? {
        let p = e?.path();
        let n = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if n.ends_with(".json") && !n.starts_with("summary") {
            let r: SeedResult = serde_json::from_str(&std::fs::read_to_string(&p)?)
                .map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
            all.push(r);
        }
    }
    let s = summarize(&all);
    let mut text = serde_json::to_string_pretty(&s)?;
    text.push('\n');
    golden_model::io::write_atomic(&out.join("summary.json"), text.as_bytes())?;
    let md = format!(
        "# Test-split figures (mean ± sample std over seeds)\n\n{}\n\n{}\n",
        s.note,
        summary_markdown(&s)
    );
    golden_model::io::write_atomic(&out.join("summary.md"), md.as_bytes())?;
    print!("{}", summary_markdown(&s));
    Ok(())
}
