//! `sweep.json`, `sweep.md` and a self-contained `sweep.html` (inline SVG charts).

use super::merge::{Stat, Sweep};
use super::plots;
use crate::report::render::{Doc, group_f, pct, write_files};
use anyhow::{Context, Result};
use std::path::Path;

fn stat_pct(s: &Stat) -> String {
    if s.min == s.max {
        pct(s.mean)
    } else {
        format!("{} ({:.2} – {:.2})", pct(s.mean), 100.0 * s.min, 100.0 * s.max)
    }
}

fn stat_count(s: &Stat) -> String {
    if s.min == s.max {
        group_f(s.mean)
    } else {
        format!("{} ({} – {})", group_f(s.mean), group_f(s.min), group_f(s.max))
    }
}

fn stat_bram(s: &Stat) -> String {
    let f = |v: f64| if v.fract() == 0.0 { format!("{v:.0}") } else { format!("{v:.1}") };
    if s.min == s.max { f(s.mean) } else { format!("{} ({} – {})", f(s.mean), f(s.min), f(s.max)) }
}

pub fn document(s: &Sweep) -> Result<Doc> {
    let mut d = Doc::new(format!("Bit-width sweep: {}", s.plan.archs.join(", ")));
    let bits: Vec<String> = s.plan.bits.iter().map(|b| b.tag()).collect();
    let seeds: Vec<String> = s.plan.seeds.iter().map(u64::to_string).collect();
    d.p(format!(
        "Architectures {}; bit widths {}; seeds {}; {} training epochs. {} of {} jobs merged.",
        s.plan.archs.join(", "),
        bits.join(", "),
        seeds.join(", "),
        s.epochs,
        s.jobs.len(),
        s.jobs.len() + s.missing.len()
    ));
    if !s.missing.is_empty() {
        d.p(format!(
            "**Partial sweep**: no results for {}.",
            s.missing.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", ")
        ));
    }
    d.p("Test accuracy is the golden model's on the whole test split; RTL accuracy is over the simulated images \
         (`rtl images`), and mismatches count images where RTL and golden model differ. Resources are Yosys counts \
         (analytical estimates when synthesis was skipped); BRAM in RAMB36 units.");

    d.h(2, "Per bit width (mean over seeds, min – max in parentheses)");
    d.table(
        &[
            "arch",
            "bits",
            "seeds",
            "test accuracy",
            "RTL accuracy",
            "mismatches",
            "LUT",
            "FF",
            "BRAM36",
            "latency (cycles)",
            "II (cycles)",
            "FPS",
        ],
        &[false, false, true, true, true, true, true, true, true, true, true, true],
        s.groups
            .iter()
            .map(|g| {
                vec![
                    g.arch.clone(),
                    g.bits.tag(),
                    g.seeds.len().to_string(),
                    stat_pct(&g.accuracy),
                    stat_pct(&g.accuracy_rtl),
                    g.mismatches.to_string(),
                    stat_count(&g.lut),
                    stat_count(&g.ff),
                    stat_bram(&g.bram36),
                    stat_count(&g.latency_cycles),
                    stat_count(&g.ii_cycles),
                    stat_count(&g.fps),
                ]
            })
            .collect(),
    );

    d.h(2, "Pareto fronts");
    let front = |ids: &[String]| ids.iter().map(|i| format!("`{i}`")).collect::<Vec<_>>().join(", ");
    d.list(vec![
        format!("maximum test accuracy, minimum LUTs: {}", front(&s.pareto_accuracy_vs_lut)),
        format!("maximum test accuracy, minimum weight + activation bits: {}", front(&s.pareto_accuracy_vs_bits)),
    ]);
    d.figure("Test accuracy vs LUTs; the line joins the Pareto front (ringed points)", plots::accuracy_vs_lut(s)?);
    d.figure(
        "Test accuracy vs weight + activation bits; bars: mean and min-max over seeds; the line joins the Pareto front",
        plots::accuracy_vs_bits(s)?,
    );

    d.h(2, "Jobs");
    let mark = |ids: &[String], id: &str| if ids.iter().any(|x| x == id) { "yes" } else { "" }.to_string();
    d.table(
        &[
            "job",
            "test accuracy",
            "balanced acc.",
            "AUC",
            "RTL accuracy",
            "rtl images",
            "mismatches",
            "resources",
            "LUT",
            "FF",
            "BRAM36",
            "latency",
            "II",
            "FPS",
            "front (LUT)",
            "front (bits)",
        ],
        &[false, true, true, true, true, true, true, false, true, true, true, true, true, true, false, false],
        s.jobs
            .iter()
            .map(|r| {
                vec![
                    format!("`{}`", r.id),
                    pct(r.accuracy),
                    r.balanced_accuracy.map_or_else(|| "n/a".into(), pct),
                    r.auc.map_or_else(|| "n/a".into(), |a| format!("{a:.4}")),
                    pct(r.accuracy_rtl),
                    r.rtl_images.to_string(),
                    r.mismatches.to_string(),
                    if r.synthesized { "Yosys" } else { "estimate" }.to_string(),
                    group_f(r.lut as f64),
                    group_f(r.ff as f64),
                    stat_bram(&Stat { mean: r.bram36, min: r.bram36, max: r.bram36 }),
                    group_f(r.latency_cycles as f64),
                    group_f(r.ii_cycles as f64),
                    group_f(r.fps),
                    mark(&s.pareto_accuracy_vs_lut, &r.id),
                    mark(&s.pareto_accuracy_vs_bits, &r.id),
                ]
            })
            .collect(),
    );
    d.p("Each job's full report is in `jobs/<job>.json`; its model in `models/<job>.qnn.json`.");
    Ok(d)
}

/// Writes `sweep.json`, `sweep.md` and `sweep.html` into `out`, each atomically, after rendering all three.
pub fn write_all(s: &Sweep, out: &Path) -> Result<()> {
    let doc = document(s)?;
    let mut json = serde_json::to_string_pretty(s).context("cannot serialize the sweep")?;
    json.push('\n');
    write_files(out, &[("sweep.json", json), ("sweep.md", doc.markdown()), ("sweep.html", doc.html())])
}
