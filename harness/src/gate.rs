//! The CI gate: a fresh report against a baseline report, check by check, with thresholds from a TOML
//! file; results as JUnit XML (one test case per check) and a Markdown summary.
//!
//! Decisions:
//! * Accuracy-type figures compare in percentage points (AUC x 100), costs (cycles, LUT, FF, BRAM) in
//!   percent of the baseline. A limit is inclusive: a delta exactly at the limit passes. Comparisons
//!   allow 1e-9 of floating-point slack so that e.g. 0.900 -> 0.895 counts as a 0.5-point drop.
//! * A limit of `inf` disables a check; missing keys take the defaults of [`Thresholds::default`]
//!   (the same values as the committed `gate.toml`); unknown keys are an error.
//! * Different model hashes only warn: a PR that retrains the model should see how the new model
//!   compares, and the baseline is then updated with it. Different test-set or RTL image counts fail,
//!   because deltas between different samples mean nothing.
//! * BRAM is compared in RAMB36 units: `bram36 + bram18 / 2`.
//! * Resources from different synthesizers are not compared: when both reports were synthesized
//!   and their `resources.tool` (Yosys build and exact command, DSP mapping included) differ, the
//!   `synthesizer` check fails with what to do and the LUT, FF and BRAM checks are left out.

use crate::report::render::{Doc, bram36_equiv, group};
use crate::report::{Report, SCHEMA};
use anyhow::{Context, Result, bail};
use golden_model::metrics::BinaryMetrics;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::Path;

const EPS: f64 = 1e-9;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Thresholds {
    /// Largest allowed number of images whose RTL output differs from the golden model.
    pub max_rtl_mismatches: u64,
    /// Largest allowed drop of accuracy (golden and RTL), in percentage points.
    pub max_accuracy_drop_points: f64,
    pub max_balanced_accuracy_drop_points: f64,
    /// AUC drop in points of AUC x 100.
    pub max_auc_drop_points: f64,
    /// Largest allowed increases, in percent of the baseline.
    pub max_latency_increase_pct: f64,
    pub max_ii_increase_pct: f64,
    pub max_lut_increase_pct: f64,
    pub max_ff_increase_pct: f64,
    pub max_bram_increase_pct: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            max_rtl_mismatches: 0,
            max_accuracy_drop_points: 0.5,
            max_balanced_accuracy_drop_points: 0.5,
            max_auc_drop_points: 0.5,
            max_latency_increase_pct: 0.0,
            max_ii_increase_pct: 0.0,
            max_lut_increase_pct: 5.0,
            max_ff_increase_pct: 5.0,
            max_bram_increase_pct: 2.0,
        }
    }
}

impl Thresholds {
    /// Parses and checks thresholds; the error names the offending key.
    pub fn from_toml(text: &str) -> Result<Thresholds> {
        let t: Thresholds = toml::from_str(text).map_err(|e| anyhow::anyhow!("{}", e.to_string().trim_end()))?;
        for (key, v) in [
            ("max_accuracy_drop_points", t.max_accuracy_drop_points),
            ("max_balanced_accuracy_drop_points", t.max_balanced_accuracy_drop_points),
            ("max_auc_drop_points", t.max_auc_drop_points),
            ("max_latency_increase_pct", t.max_latency_increase_pct),
            ("max_ii_increase_pct", t.max_ii_increase_pct),
            ("max_lut_increase_pct", t.max_lut_increase_pct),
            ("max_ff_increase_pct", t.max_ff_increase_pct),
            ("max_bram_increase_pct", t.max_bram_increase_pct),
        ] {
            if v.is_nan() || v < 0.0 {
                bail!("{key} = {v}: a limit must be a number >= 0 (or inf to disable the check)");
            }
        }
        Ok(t)
    }

    pub fn load(path: &Path) -> Result<Thresholds> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("cannot read thresholds file {}", path.display()))?;
        Thresholds::from_toml(&text).with_context(|| format!("bad thresholds file {}", path.display()))
    }
}

/// Reads a `report.json`, checking its schema.
pub fn read_report(path: &Path) -> Result<Report> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read report {}", path.display()))?;
    let r: Report =
        serde_json::from_str(&text).with_context(|| format!("{} is not a valid report.json", path.display()))?;
    if r.schema != SCHEMA {
        bail!(
            "{} has schema `{}`, expected `{SCHEMA}`: regenerate it with `cargo xtask report`",
            path.display(),
            r.schema
        );
    }
    Ok(r)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    Pass,
    /// Worth a look, does not fail the gate.
    Warn,
    Fail,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
        }
    }
}

/// One comparison; values are formatted for people (units included).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Check {
    pub name: String,
    pub baseline: String,
    pub fresh: String,
    pub delta: String,
    pub limit: String,
    pub status: Status,
    /// Why it failed or warned; empty when it passed.
    pub message: String,
}

impl Check {
    pub fn passed(&self) -> bool {
        self.status != Status::Fail
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GateOutcome {
    pub checks: Vec<Check>,
}

impl GateOutcome {
    pub fn passed(&self) -> bool {
        self.checks.iter().all(Check::passed)
    }
    pub fn failed(&self) -> Vec<&Check> {
        self.checks.iter().filter(|c| c.status == Status::Fail).collect()
    }
    pub fn warnings(&self) -> Vec<&Check> {
        self.checks.iter().filter(|c| c.status == Status::Warn).collect()
    }
}

fn limit_text(v: f64, unit: &str, what: &str) -> String {
    if v.is_infinite() { "disabled".into() } else { format!("{what} <= {v:.2} {unit}") }
}

fn short(h: &str) -> String {
    h[..h.len().min(16)].to_string()
}

/// How a rate is shown: accuracies as percentages, AUC as a fraction (both compared in points).
#[derive(Clone, Copy)]
enum Rate {
    Percent,
    Auc,
}

/// Drop of a rate in points (x 100); `None` on a side means the rate is undefined there.
fn drop_check(name: &str, kind: Rate, base: Option<f64>, fresh: Option<f64>, limit: f64) -> Check {
    let show = |v: Option<f64>| match (v, kind) {
        (None, _) => "n/a".to_string(),
        (Some(x), Rate::Percent) => format!("{:.2} %", 100.0 * x),
        (Some(x), Rate::Auc) => format!("{x:.4}"),
    };
    let mut c = Check {
        name: name.into(),
        baseline: show(base),
        fresh: show(fresh),
        delta: "–".into(),
        limit: limit_text(limit, "pt", "drop"),
        status: Status::Pass,
        message: String::new(),
    };
    match (base, fresh) {
        (Some(b), Some(f)) => {
            let drop = (b - f) * 100.0;
            // `+ 0.0` turns a negative zero into "+0.00".
            c.delta = format!("{:+.2} pt", -drop + 0.0);
            if drop > limit + EPS {
                c.status = Status::Fail;
                c.message = format!(
                    "{name} dropped by {drop:.2} points ({} -> {}), over the {limit:.2}-point limit",
                    c.baseline, c.fresh
                );
            }
        }
        (Some(_), None) => {
            c.status = Status::Fail;
            c.message = format!(
                "{name} is undefined in the fresh report (a class is missing from its images), the baseline has {}",
                c.baseline
            );
        }
        (None, _) => {}
    }
    c
}

/// `1215.0` -> `1,215`, `7.5` -> `7.5`.
fn amount(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        let g = group(v.abs() as u64);
        if v < 0.0 { format!("-{g}") } else { g }
    } else {
        format!("{v:.1}")
    }
}

/// Increase of a cost in percent of the baseline.
fn increase_check(name: &str, unit: &str, base: f64, fresh: f64, limit: f64) -> Check {
    let show = |v: f64| if unit.is_empty() { amount(v) } else { format!("{} {unit}", amount(v)) };
    let pct = if base == 0.0 { if fresh == 0.0 { 0.0 } else { f64::INFINITY } } else { (fresh - base) / base * 100.0 };
    let diff = fresh - base;
    let abs = if diff < 0.0 { amount(diff) } else { format!("+{}", amount(diff)) };
    let mut c = Check {
        name: name.into(),
        baseline: show(base),
        fresh: show(fresh),
        delta: if pct.is_finite() { format!("{abs} ({:+.2} %)", pct + 0.0) } else { format!("{abs} (baseline 0)") },
        limit: limit_text(limit, "%", "increase"),
        status: Status::Pass,
        message: String::new(),
    };
    if pct > limit + EPS {
        c.status = Status::Fail;
        c.message = format!("{name} rose from {} to {}: {}, over the {limit:.2} % limit", c.baseline, c.fresh, c.delta);
    }
    c
}

fn equal_check(name: &str, base: u64, fresh: u64, why: &str) -> Check {
    let ok = base == fresh;
    Check {
        name: name.into(),
        baseline: base.to_string(),
        fresh: fresh.to_string(),
        delta: format!("{:+}", fresh as i128 - base as i128),
        limit: "equal".into(),
        status: if ok { Status::Pass } else { Status::Fail },
        message: if ok { String::new() } else { format!("{name}: baseline {base}, fresh {fresh}; {why}") },
    }
}

/// Every check of `fresh` against `baseline`, in a fixed order.
pub fn compare(baseline: &Report, fresh: &Report, t: &Thresholds) -> GateOutcome {
    let mut checks = vec![];
    let same_model = baseline.model.hash == fresh.model.hash;
    checks.push(Check {
        name: "model".into(),
        baseline: format!("{} ({})", baseline.model.name, short(&baseline.model.hash)),
        fresh: format!("{} ({})", fresh.model.name, short(&fresh.model.hash)),
        delta: if same_model { "same".into() } else { "different".into() },
        limit: "same model (warning only)".into(),
        status: if same_model { Status::Pass } else { Status::Warn },
        message: if same_model {
            String::new()
        } else {
            "the reports describe different models: the deltas compare two models; commit the new report as the \
             baseline if the model change is intended"
                .into()
        },
    });
    checks.push(equal_check(
        "synthesized",
        baseline.resources.synthesized as u64,
        fresh.resources.synthesized as u64,
        "both reports must come from Yosys synthesis (1) or both skip it (0); drop --skip-synth",
    ));
    let synth_differs = synthesizer_mismatch(baseline, fresh);
    checks.push(Check {
        name: "synthesizer".into(),
        baseline: baseline.resources.tool.clone(),
        fresh: fresh.resources.tool.clone(),
        delta: if synth_differs.is_some() { "different".into() } else { "same".into() },
        limit: "same Yosys build and command".into(),
        status: if synth_differs.is_some() { Status::Fail } else { Status::Pass },
        message: synth_differs.clone().unwrap_or_default(),
    });
    let (bg, fg) = (&baseline.accuracy.golden, &fresh.accuracy.golden);
    let (br, fr) = (&baseline.accuracy.rtl, &fresh.accuracy.rtl);
    checks.push(equal_check("test images", bg.n, fg.n, "accuracy deltas over different test sets are meaningless"));
    checks.push(equal_check(
        "RTL images",
        br.metrics.n,
        fr.metrics.n,
        "build the fresh report over the same number of RTL images (--rtl-images) as the baseline",
    ));
    let mismatch_ok = fr.mismatches <= t.max_rtl_mismatches;
    checks.push(Check {
        name: "RTL mismatches".into(),
        baseline: br.mismatches.to_string(),
        fresh: fr.mismatches.to_string(),
        delta: format!("{:+}", fr.mismatches as i128 - br.mismatches as i128),
        limit: format!("<= {}", t.max_rtl_mismatches),
        status: if mismatch_ok { Status::Pass } else { Status::Fail },
        message: if mismatch_ok {
            String::new()
        } else {
            let first: Vec<&str> = fr.mismatched_images.iter().take(3).map(String::as_str).collect();
            format!(
                "{} of {} images differ between RTL and golden model (limit {}); first: {}",
                fr.mismatches,
                fr.metrics.n,
                t.max_rtl_mismatches,
                if first.is_empty() { "(not listed)".into() } else { first.join(", ") }
            )
        },
    });
    let rate = |name: &str, kind: Rate, f: fn(&BinaryMetrics) -> Option<f64>, limit: f64, checks: &mut Vec<Check>| {
        checks.push(drop_check(&format!("{name} (golden)"), kind, f(bg), f(fg), limit));
        checks.push(drop_check(&format!("{name} (RTL)"), kind, f(&br.metrics), f(&fr.metrics), limit));
    };
    rate("accuracy", Rate::Percent, |m| Some(m.accuracy), t.max_accuracy_drop_points, &mut checks);
    rate("balanced accuracy", Rate::Percent, |m| m.balanced_accuracy, t.max_balanced_accuracy_drop_points, &mut checks);
    rate("AUC", Rate::Auc, |m| m.auc, t.max_auc_drop_points, &mut checks);
    let (bl, fl) = (&baseline.latency, &fresh.latency);
    checks.push(increase_check(
        "latency",
        "cycles",
        bl.latency_cycles as f64,
        fl.latency_cycles as f64,
        t.max_latency_increase_pct,
    ));
    checks.push(increase_check("II", "cycles", bl.ii_cycles as f64, fl.ii_cycles as f64, t.max_ii_increase_pct));
    if synth_differs.is_none() {
        let (bt, ft) = (&baseline.resources.total, &fresh.resources.total);
        checks.push(increase_check("LUT", "", bt.lut as f64, ft.lut as f64, t.max_lut_increase_pct));
        checks.push(increase_check("FF", "", bt.ff as f64, ft.ff as f64, t.max_ff_increase_pct));
        checks.push(increase_check("BRAM (RAMB36 eq.)", "", bram36_equiv(bt), bram36_equiv(ft), t.max_bram_increase_pct));
    }
    GateOutcome { checks }
}

/// Why the two reports' resources are not comparable (both synthesized, by different Yosys
/// builds or commands), or `None` when they are.
pub fn synthesizer_mismatch(baseline: &Report, fresh: &Report) -> Option<String> {
    let (b, f) = (&baseline.resources, &fresh.resources);
    (b.synthesized && f.synthesized && b.tool != f.tool).then(|| {
        format!(
            "the gate refuses to compare resources made by different synthesizers: the baseline's come from `{}`, the \
             fresh report's from `{}`. LUT, FF and BRAM counts of two Yosys versions or DSP mappings differ by far more \
             than any threshold. Build the fresh report with the baseline's synthesizer (`cargo xtask gate` does unless \
             --synth, --dsp, QNN_SYNTH or QNN_SYNTH_DSP say otherwise), or make and commit a new baseline with the new \
             one (`cargo xtask report --synth ... --dsp ...`)",
            b.tool, f.tool
        )
    })
}

/// Text and attribute escaping for XML 1.0; characters XML cannot carry at all become U+FFFD.
pub fn xml_escape(t: &str) -> String {
    let mut s = String::with_capacity(t.len());
    for c in t.chars() {
        match c {
            '&' => s.push_str("&amp;"),
            '<' => s.push_str("&lt;"),
            '>' => s.push_str("&gt;"),
            '"' => s.push_str("&quot;"),
            '\'' => s.push_str("&apos;"),
            '\t' | '\n' | '\r' => s.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => s.push('\u{FFFD}'),
            c => s.push(c),
        }
    }
    s
}

/// JUnit XML: one test suite, one test case per check, failures carrying the message. Warnings pass
/// and carry their message as `system-out`.
pub fn junit(outcome: &GateOutcome) -> String {
    let n = outcome.checks.len();
    let f = outcome.failed().len();
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(s, "<testsuites name=\"qnn-gate\" tests=\"{n}\" failures=\"{f}\" errors=\"0\">");
    let _ = writeln!(s, "  <testsuite name=\"gate\" tests=\"{n}\" failures=\"{f}\" errors=\"0\" skipped=\"0\">");
    for c in &outcome.checks {
        let _ = write!(s, "    <testcase classname=\"gate\" name=\"{}\"", xml_escape(&c.name));
        let detail = format!("baseline: {}\nfresh: {}\ndelta: {}\nlimit: {}", c.baseline, c.fresh, c.delta, c.limit);
        match c.status {
            Status::Pass => s.push_str("/>\n"),
            Status::Warn => {
                let _ = write!(
                    s,
                    ">\n      <system-out>warning: {}\n{}</system-out>\n    </testcase>\n",
                    xml_escape(&c.message),
                    xml_escape(&detail)
                );
            }
            Status::Fail => {
                let _ = write!(
                    s,
                    ">\n      <failure message=\"{}\" type=\"threshold\">{}</failure>\n    </testcase>\n",
                    xml_escape(&c.message),
                    xml_escape(&detail)
                );
            }
        }
    }
    s.push_str("  </testsuite>\n</testsuites>\n");
    s
}

/// Where the two reports came from, for the summary's header (e.g. their file paths).
pub struct Sides<'a> {
    pub baseline_label: &'a str,
    pub baseline: &'a Report,
    pub fresh_label: &'a str,
    pub fresh: &'a Report,
}

/// Markdown summary: headline, the two reports, a table of every check, then the failures and
/// warnings with their messages.
pub fn summary(outcome: &GateOutcome, sides: &Sides) -> String {
    let failed = outcome.failed();
    let warnings = outcome.warnings();
    let headline = if failed.is_empty() {
        let w = if warnings.is_empty() { String::new() } else { format!(", {} warning(s)", warnings.len()) };
        format!("Gate: PASS ({} checks{w})", outcome.checks.len())
    } else {
        format!("Gate: FAIL ({} of {} checks failed)", failed.len(), outcome.checks.len())
    };
    let mut d = Doc::new(headline);
    let who = |what: &str, label: &str, r: &Report| {
        format!(
            "{what} `{label}`: model `{}` (`{}`, `{}`), commit `{}`{}, made {}",
            r.model.name,
            r.model.file,
            short(&r.model.hash),
            short(&r.provenance.git_commit),
            if r.provenance.git_dirty { " (dirty)" } else { "" },
            r.provenance.date
        )
    };
    d.list(vec![who("baseline", sides.baseline_label, sides.baseline), who("fresh", sides.fresh_label, sides.fresh)]);
    d.table(
        &["check", "baseline", "fresh", "delta", "limit", "status"],
        &[false, true, true, true, false, false],
        outcome
            .checks
            .iter()
            .map(|c| {
                let status = match c.status {
                    Status::Pass => "PASS".to_string(),
                    s => format!("**{}**", s.label()),
                };
                vec![c.name.clone(), c.baseline.clone(), c.fresh.clone(), c.delta.clone(), c.limit.clone(), status]
            })
            .collect(),
    );
    let notes: Vec<String> =
        failed.iter().chain(&warnings).map(|c| format!("**{}** {}: {}", c.status.label(), c.name, c.message)).collect();
    if !notes.is_empty() {
        d.list(notes);
    }
    d.markdown()
}

/// One line for an error message: which checks failed.
pub fn describe(outcome: &GateOutcome) -> String {
    let failed: Vec<&str> = outcome.failed().iter().map(|c| c.name.as_str()).collect();
    if failed.is_empty() {
        format!("all {} gate checks passed", outcome.checks.len())
    } else {
        format!("{} gate check(s) failed: {}", failed.len(), failed.join(", "))
    }
}
