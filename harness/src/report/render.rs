//! Writing a report as `report.json`, `report.md` and a self-contained `report.html` (inline CSS and
//! SVG charts, no scripts, no external assets).
//!
//! Markdown and HTML come from one [`Doc`] so the two can never disagree. Output depends only on the
//! `Report` value: the one time-dependent field is `provenance.date`, which is printed as recorded.

use super::{Report, plots};
use crate::synth;
use anyhow::{Context, Result};
use std::fmt::Write as _;
use std::path::Path;

/// A small document model: enough structure for reports, rendered to Markdown or HTML. Text may use
/// `` `code` `` and `**bold**` spans, the only inline markup both outputs share.
#[derive(Clone, Debug, Default)]
pub struct Doc {
    pub title: String,
    pub blocks: Vec<Block>,
}

#[derive(Clone, Debug)]
pub enum Block {
    Heading(u8, String),
    Para(String),
    List(Vec<String>),
    /// `numeric[i]` right-aligns column `i`.
    Table {
        head: Vec<String>,
        rows: Vec<Vec<String>>,
        numeric: Vec<bool>,
    },
    Code(String),
    /// Inline SVG; HTML only (Markdown viewers would not show it inline).
    Figure {
        caption: String,
        svg: String,
    },
}

impl Doc {
    pub fn new(title: impl Into<String>) -> Self {
        Doc { title: title.into(), blocks: vec![] }
    }
    pub fn h(&mut self, level: u8, text: impl Into<String>) {
        self.blocks.push(Block::Heading(level, text.into()));
    }
    pub fn p(&mut self, text: impl Into<String>) {
        self.blocks.push(Block::Para(text.into()));
    }
    pub fn list(&mut self, items: Vec<String>) {
        self.blocks.push(Block::List(items));
    }
    pub fn table(&mut self, head: &[&str], numeric: &[bool], rows: Vec<Vec<String>>) {
        self.blocks.push(Block::Table {
            head: head.iter().map(|s| s.to_string()).collect(),
            rows,
            numeric: numeric.to_vec(),
        });
    }
    pub fn code(&mut self, text: impl Into<String>) {
        self.blocks.push(Block::Code(text.into()));
    }
    pub fn figure(&mut self, caption: impl Into<String>, svg: String) {
        self.blocks.push(Block::Figure { caption: caption.into(), svg });
    }

    pub fn markdown(&self) -> String {
        let mut s = format!("# {}\n", self.title);
        for (i, b) in self.blocks.iter().enumerate() {
            match b {
                Block::Heading(level, t) => {
                    let _ = write!(s, "\n{} {t}\n", "#".repeat(usize::from((*level).clamp(2, 6))));
                }
                Block::Para(t) => {
                    let _ = write!(s, "\n{t}\n");
                }
                Block::List(items) => {
                    s.push('\n');
                    for i in items {
                        let _ = writeln!(s, "- {i}");
                    }
                }
                Block::Table { head, rows, numeric } => {
                    let cell = |t: &str| t.replace('|', "\\|");
                    s.push('\n');
                    let _ = writeln!(s, "| {} |", head.iter().map(|h| cell(h)).collect::<Vec<_>>().join(" | "));
                    let rule: Vec<&str> = (0..head.len())
                        .map(|i| if numeric.get(i).copied().unwrap_or(false) { "---:" } else { "---" })
                        .collect();
                    let _ = writeln!(s, "|{}|", rule.join("|"));
                    for r in rows {
                        let _ = writeln!(s, "| {} |", r.iter().map(|c| cell(c)).collect::<Vec<_>>().join(" | "));
                    }
                }
                Block::Code(t) => {
                    let _ = write!(s, "\n```text\n{}\n```\n", t.trim_end());
                }
                // A run of figures becomes one line listing what the HTML version shows.
                Block::Figure { .. } if i > 0 && matches!(self.blocks[i - 1], Block::Figure { .. }) => {}
                Block::Figure { .. } => {
                    let captions: Vec<&str> = self.blocks[i..]
                        .iter()
                        .map_while(|b| match b {
                            Block::Figure { caption, .. } => Some(caption.as_str()),
                            _ => None,
                        })
                        .collect();
                    let _ = write!(s, "\n*Charts in the HTML version:*\n\n");
                    for c in captions {
                        let _ = writeln!(s, "- {c}");
                    }
                }
            }
        }
        s
    }

    pub fn html(&self) -> String {
        let mut s = String::new();
        let _ = write!(
            s,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>\n{CSS}</style>\n\
             </head>\n<body>\n<h1>{}</h1>\n",
            escape(&self.title),
            inline(&self.title)
        );
        for b in &self.blocks {
            match b {
                Block::Heading(level, t) => {
                    let l = (*level).clamp(2, 6);
                    let _ = writeln!(s, "<h{l}>{}</h{l}>", inline(t));
                }
                Block::Para(t) => {
                    let _ = writeln!(s, "<p>{}</p>", inline(t));
                }
                Block::List(items) => {
                    s.push_str("<ul>\n");
                    for i in items {
                        let _ = writeln!(s, "<li>{}</li>", inline(i));
                    }
                    s.push_str("</ul>\n");
                }
                Block::Table { head, rows, numeric } => {
                    let class = |i: usize| if numeric.get(i).copied().unwrap_or(false) { " class=\"num\"" } else { "" };
                    s.push_str("<table>\n<thead><tr>");
                    for (i, h) in head.iter().enumerate() {
                        let _ = write!(s, "<th{}>{}</th>", class(i), inline(h));
                    }
                    s.push_str("</tr></thead>\n<tbody>\n");
                    for r in rows {
                        s.push_str("<tr>");
                        for (i, c) in r.iter().enumerate() {
                            let _ = write!(s, "<td{}>{}</td>", class(i), inline(c));
                        }
                        s.push_str("</tr>\n");
                    }
                    s.push_str("</tbody>\n</table>\n");
                }
                Block::Code(t) => {
                    let _ = writeln!(s, "<pre>{}</pre>", escape(t.trim_end()));
                }
                Block::Figure { caption, svg } => {
                    let _ = writeln!(
                        s,
                        "<figure>\n{}\n<figcaption>{}</figcaption>\n</figure>",
                        svg.trim(),
                        inline(caption)
                    );
                }
            }
        }
        s.push_str("</body>\n</html>\n");
        s
    }
}

const CSS: &str = "body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; max-width: 960px; margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; } h2 { margin-top: 1.8em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.8em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; }
th { background: #f3f3f3; } td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
code, pre { font-family: ui-monospace, 'SFMono-Regular', Menlo, monospace; font-size: 0.92em; }
pre { background: #f6f6f6; padding: 0.8em; overflow-x: auto; }
figure { margin: 1.2em 0; } figure svg { max-width: 100%; height: auto; }
figcaption { color: #555; font-size: 0.92em; }
";

/// HTML text escaping (also valid inside attribute values).
pub fn escape(t: &str) -> String {
    let mut s = String::with_capacity(t.len());
    for c in t.chars() {
        match c {
            '&' => s.push_str("&amp;"),
            '<' => s.push_str("&lt;"),
            '>' => s.push_str("&gt;"),
            '"' => s.push_str("&quot;"),
            '\'' => s.push_str("&#39;"),
            c => s.push(c),
        }
    }
    s
}

/// Escapes `t` and turns `` `code` ``, `**bold**` and `[text](link)` spans into HTML; an unpaired
/// marker stays literal.
fn inline(t: &str) -> String {
    let mut out = String::new();
    let mut rest = t;
    while !rest.is_empty() {
        if let Some((before, text, link, after)) = split_link(rest) {
            out.push_str(&inline(before));
            let _ = write!(out, "<a href=\"{}\">{}</a>", escape(link), inline(text));
            rest = after;
            continue;
        }
        let code = rest.find('`');
        let bold = rest.find("**");
        let (at, marker, tag) = match (code, bold) {
            (Some(c), Some(b)) if b < c => (b, "**", "strong"),
            (Some(c), _) => (c, "`", "code"),
            (None, Some(b)) => (b, "**", "strong"),
            (None, None) => break,
        };
        let after = &rest[at + marker.len()..];
        match after.find(marker) {
            Some(end) => {
                out.push_str(&escape(&rest[..at]));
                let body = &after[..end];
                let body = if tag == "code" { escape(body) } else { inline(body) };
                let _ = write!(out, "<{tag}>{body}</{tag}>");
                rest = &after[end + marker.len()..];
            }
            None => {
                out.push_str(&escape(&rest[..at + marker.len()]));
                rest = after;
            }
        }
    }
    out.push_str(&escape(rest));
    out
}

/// The first `[text](link)` in `t` outside code spans: (before, text, link, after).
fn split_link(t: &str) -> Option<(&str, &str, &str, &str)> {
    let open = t.find('[')?;
    if t[..open].matches('`').count() % 2 == 1 {
        return None;
    }
    let close = open + t[open..].find("](")?;
    let end = close + 2 + t[close + 2..].find(')')?;
    Some((&t[..open], &t[open + 1..close], &t[close + 2..end], &t[end + 1..]))
}

/// `0.85256` -> `85.26 %`.
pub fn pct(x: f64) -> String {
    format!("{:.2} %", 100.0 * x)
}

pub fn opt_pct(x: Option<f64>) -> String {
    x.map_or_else(|| "n/a".into(), pct)
}

/// `1234567` -> `1,234,567`.
pub fn group(n: u64) -> String {
    let d = n.to_string();
    let mut s = String::new();
    for (i, c) in d.chars().enumerate() {
        if i > 0 && (d.len() - i).is_multiple_of(3) {
            s.push(',');
        }
        s.push(c);
    }
    s
}

/// Rounds to an integer before grouping (throughputs, capacities).
pub fn group_f(x: f64) -> String {
    if x.is_finite() && x >= 0.0 { group(x.round() as u64) } else { format!("{x}") }
}

fn ratio(measured: u64, estimated: u64) -> String {
    if estimated == 0 { "–".into() } else { format!("{:.2}", measured as f64 / estimated as f64) }
}

/// RAMB18 equivalents: a RAMB36 holds two.
pub fn bram18_equiv(c: &synth::Counts) -> u64 {
    2 * c.bram36 + c.bram18
}

/// BRAM in RAMB36 units, as the gate and sweeps compare it.
pub fn bram36_equiv(c: &synth::Counts) -> f64 {
    c.bram36 as f64 + c.bram18 as f64 / 2.0
}

fn short(hash: &str) -> &str {
    &hash[..hash.len().min(16)]
}

/// The report as a document: summary first, then accuracy, latency, resources, folding, provenance.
pub fn document(r: &Report) -> Result<Doc> {
    let mut d = Doc::new(format!("Accelerator report: {}", r.model.name));
    let m = &r.model;
    let g = &r.accuracy.golden;
    let rtl = &r.accuracy.rtl;
    let lat = &r.latency;
    let res = &r.resources;
    let u = &res.utilization_pct;
    d.p(format!(
        "Model `{}` (`{}`, hash `{}`){}: weights {}-bit, activations {}-bit, input {}-bit, {} parameters. \
         Device {}, clock {} MHz.",
        m.name,
        m.file,
        short(&m.hash),
        m.arch.as_ref().map_or(String::new(), |a| format!(", architecture {a}")),
        m.wbits,
        m.abits,
        m.in_bits,
        group(m.parameters),
        res.device,
        lat.clock_mhz
    ));

    d.h(2, "Summary");
    let verdict = if rtl.mismatches == 0 {
        "**0**".to_string()
    } else {
        format!("**{}** (RTL differs from the golden model)", rtl.mismatches)
    };
    d.table(
        &["", ""],
        &[false, false],
        vec![
            vec![
                "Test accuracy, golden / RTL".into(),
                format!("{} / {} (n = {} / {})", pct(g.accuracy), pct(rtl.metrics.accuracy), g.n, rtl.metrics.n),
            ],
            vec!["RTL mismatches".into(), format!("{verdict} of {} images", rtl.metrics.n)],
            vec![
                "Latency (one image)".into(),
                format!("{} cycles = {:.2} µs at {} MHz", group(lat.latency_cycles), lat.latency_us, lat.clock_mhz),
            ],
            vec![
                "Initiation interval".into(),
                format!(
                    "{} cycles (estimated {}, measured / estimated {:.3}) = {} images/s",
                    group(lat.ii_cycles),
                    group(lat.ii_estimated),
                    lat.ii_cycles as f64 / lat.ii_estimated.max(1) as f64,
                    group_f(lat.fps)
                ),
            ],
            vec![
                "Resources".into(),
                format!(
                    "{} LUT ({:.2} %), {} FF ({:.2} %), {} BRAM36 ({:.2} %), {} DSP ({:.2} %)",
                    group(res.total.lut),
                    u.lut,
                    group(res.total.ff),
                    u.ff,
                    fmt_bram36(&res.total),
                    u.bram36,
                    group(res.total.dsp),
                    u.dsp
                ),
            ],
            vec!["Critical path (**estimate**)".into(), critical_path(res.critical_path_estimate_ns)],
        ],
    );

    d.h(2, format!("Accuracy ({} split)", r.accuracy.split));
    let ci = |m: &golden_model::metrics::BinaryMetrics| {
        format!("{} (95 % CI {} – {})", pct(m.accuracy), pct(m.accuracy_ci95.low), pct(m.accuracy_ci95.high))
    };
    let auc = |v: Option<f64>| v.map_or_else(|| "n/a".into(), |x| format!("{x:.4}"));
    let conf = |c: &golden_model::metrics::Confusion| format!("{} / {} / {} / {}", c.tn, c.fp, c.fn_, c.tp);
    d.table(
        &["metric", "golden model", "RTL"],
        &[false, true, true],
        vec![
            vec!["images".into(), g.n.to_string(), rtl.metrics.n.to_string()],
            vec!["accuracy".into(), ci(g), ci(&rtl.metrics)],
            vec!["sensitivity".into(), opt_pct(g.sensitivity), opt_pct(rtl.metrics.sensitivity)],
            vec!["specificity".into(), opt_pct(g.specificity), opt_pct(rtl.metrics.specificity)],
            vec!["balanced accuracy".into(), opt_pct(g.balanced_accuracy), opt_pct(rtl.metrics.balanced_accuracy)],
            vec!["AUC".into(), auc(g.auc), auc(rtl.metrics.auc)],
            vec!["confusion TN / FP / FN / TP".into(), conf(&g.confusion), conf(&rtl.metrics.confusion)],
        ],
    );
    d.p("Positive class: PNEUMONIA. Confidence intervals are Wilson score intervals; AUC uses the score `logit[1] - logit[0]`.");
    if rtl.mismatches == 0 {
        d.p(format!(
            "RTL mismatches: **0**: on all {} simulated images the RTL's label and logits equal the golden model's.",
            rtl.metrics.n
        ));
    } else {
        d.p(format!(
            "RTL mismatches: **{}** images whose RTL label or logits differ from the golden model{}:",
            rtl.mismatches,
            if (rtl.mismatched_images.len() as u64) < rtl.mismatches {
                format!(" (first {} listed)", rtl.mismatched_images.len())
            } else {
                String::new()
            }
        ));
        d.list(rtl.mismatched_images.iter().map(|i| format!("`{i}`")).collect());
    }

    d.h(2, "Latency and throughput");
    d.table(
        &["", "cycles", "time / rate"],
        &[false, true, true],
        vec![
            vec![
                "latency (first input beat to last output beat)".into(),
                group(lat.latency_cycles),
                format!("{:.2} µs", lat.latency_us),
            ],
            vec![
                "latency, estimated (stage by stage, idle pipeline)".into(),
                group(lat.latency_estimated),
                format!("{:.2} µs", lat.latency_estimated as f64 / lat.clock_mhz),
            ],
            vec![
                "initiation interval, measured (steady state)".into(),
                group(lat.ii_cycles),
                format!("{} images/s", group_f(lat.fps)),
            ],
            vec![
                "initiation interval, estimated (slowest stage)".into(),
                group(lat.ii_estimated),
                if lat.ii_estimated > 0 {
                    format!("{} images/s", group_f(lat.clock_mhz * 1e6 / lat.ii_estimated as f64))
                } else {
                    "–".into()
                },
            ],
        ],
    );
    if !lat.layers.is_empty() {
        d.h(3, "Cycles per image by layer");
        d.table(
            &["layer", "measured", "estimated", "measured / estimated"],
            &[false, true, true, true],
            lat.layers
                .iter()
                .map(|l| {
                    vec![
                        l.name.clone(),
                        group(l.cycles_measured),
                        group(l.cycles_estimated),
                        ratio(l.cycles_measured, l.cycles_estimated),
                    ]
                })
                .collect(),
        );
    }

    d.h(2, "Resources");
    d.p(format!("Tool: `{}`. Device: {}.", res.tool, res.device));
    let t = &res.total;
    d.table(
        &["resource", "used", "available", "utilization"],
        &[false, true, true, true],
        vec![
            vec!["LUT".into(), group(t.lut), group_f(synth::CAP_LUT), format!("{:.2} %", u.lut)],
            vec!["FF".into(), group(t.ff), group_f(synth::CAP_FF), format!("{:.2} %", u.ff)],
            vec![
                "BRAM36 (RAMB36 + RAMB18 / 2)".into(),
                format!("{} ({} RAMB36, {} RAMB18)", fmt_bram36(t), t.bram36, t.bram18),
                group_f(synth::CAP_BRAM36),
                format!("{:.2} %", u.bram36),
            ],
            vec!["URAM".into(), group(t.uram), group_f(synth::CAP_URAM), format!("{:.2} %", u.uram)],
            vec!["DSP".into(), group(t.dsp), group_f(synth::CAP_DSP), format!("{:.2} %", u.dsp)],
            vec!["CARRY (Yosys CARRY4 cells)".into(), group(t.carry), "–".into(), "–".into()],
        ],
    );
    if !res.layers.is_empty() {
        d.h(3, "Resources by layer: measured (Yosys) vs estimated (analytical model)");
        d.table(
            &["layer", "LUT", "LUT est.", "FF", "FF est.", "BRAM18", "BRAM18 est.", "DSP", "DSP est."],
            &[false, true, true, true, true, true, true, true, true],
            res.layers
                .iter()
                .map(|l| {
                    vec![
                        l.name.clone(),
                        group(l.measured.lut),
                        group(l.estimated.lut),
                        group(l.measured.ff),
                        group(l.estimated.ff),
                        group(bram18_equiv(&l.measured)),
                        group(l.estimated.bram18),
                        group(l.measured.dsp),
                        group(l.estimated.dsp),
                    ]
                })
                .collect(),
        );
        d.p("BRAM18 counts RAMB18 equivalents (a RAMB36 counts 2).");
    }
    let note = res.critical_path_note.trim().trim_end_matches('.');
    let note = if note.is_empty() { String::new() } else { format!(" {note}.") };
    d.p(format!("**Critical path (estimate)**: {}.{note}", critical_path(res.critical_path_estimate_ns)));

    d.h(2, "Folding");
    let names: Vec<String> = if res.layers.len() == r.folding.layers.len() {
        res.layers.iter().map(|l| l.name.clone()).collect()
    } else {
        (0..r.folding.layers.len()).map(|i| format!("layer {i}")).collect()
    };
    d.p(format!(
        "{} pixel(s) per input beat. MMV: windows (vectors) per beat. FIFO: depth of the FIFO after the layer{}.",
        r.folding.in_pixels,
        if r.folding.fifo_depths.is_empty() { String::new() } else { ", sized from simulation (peak occupancy plus a margin)".into() }
    ));
    let last = r.folding.layers.len().saturating_sub(1);
    d.table(
        &["layer", "PE", "SIMD", "MMV", "FIFO"],
        &[false, true, true, true, true],
        names
            .iter()
            .zip(&r.folding.layers)
            .enumerate()
            .map(|(i, (n, f))| {
                let fifo = if i == last { "–".into() } else { r.folding.fifo_after(i).to_string() };
                match f {
                    Some(f) => vec![n.clone(), f.pe.to_string(), f.simd.to_string(), f.mmv.to_string(), fifo],
                    None => vec![n.clone(), "–".into(), "–".into(), "–".into(), fifo],
                }
            })
            .collect(),
    );
    if !m.layers.is_empty() {
        d.h(3, "Model layers");
        d.code(m.layers.join("\n"));
    }

    d.h(2, "Charts");
    for (caption, svg) in plots::all(r)? {
        d.figure(caption, svg);
    }

    d.h(2, "Provenance");
    let p = &r.provenance;
    d.list(vec![
        format!(
            "git commit `{}`{}",
            p.git_commit,
            if p.git_dirty { " (working tree had uncommitted changes)" } else { "" }
        ),
        format!("model file `{}`, SHA-256 `{}`", m.file, p.model_hash),
        format!("Verilator: {}", p.tools.verilator),
        format!("Yosys: {}", p.tools.yosys),
        format!("rustc: {}", p.tools.rustc),
        format!("simulation seed: {}", p.seed),
        format!("date (UTC): {}", p.date),
        format!("schema: `{}`", r.schema),
    ]);
    Ok(d)
}

fn fmt_bram36(c: &synth::Counts) -> String {
    let v = bram36_equiv(c);
    if v.fract() == 0.0 { format!("{v:.0}") } else { format!("{v:.1}") }
}

fn critical_path(ns: Option<f64>) -> String {
    match ns {
        Some(ns) if ns > 0.0 => format!("{ns:.3} ns (about {:.0} MHz)", 1000.0 / ns),
        Some(ns) => format!("{ns:.3} ns"),
        None => "not available (no synthesis, or Yosys `sta` reported no path)".into(),
    }
}

/// One line for a terminal: accuracy, mismatches, latency, throughput, resources.
pub fn summary_line(r: &Report) -> String {
    let t = &r.resources.total;
    format!(
        "`{}`: test accuracy {} golden / {} RTL ({} mismatches in {} images); latency {} cycles ({:.2} µs), \
         II {} cycles = {} images/s at {} MHz; {} LUT, {} FF, {} BRAM36, {} DSP",
        r.model.name,
        pct(r.accuracy.golden.accuracy),
        pct(r.accuracy.rtl.metrics.accuracy),
        r.accuracy.rtl.mismatches,
        r.accuracy.rtl.metrics.n,
        group(r.latency.latency_cycles),
        r.latency.latency_us,
        group(r.latency.ii_cycles),
        group_f(r.latency.fps),
        r.latency.clock_mhz,
        group(t.lut),
        group(t.ff),
        fmt_bram36(t),
        group(t.dsp)
    )
}

/// Pretty JSON with the struct's field order and a trailing newline: the byte-comparable form.
pub fn json(r: &Report) -> Result<String> {
    let mut s = serde_json::to_string_pretty(r).context("cannot serialize the report")?;
    s.push('\n');
    Ok(s)
}

/// Writes `report.json`, `report.md` and `report.html` into `dir`. Everything is rendered before the
/// first file is written, and each file is replaced atomically.
pub fn write_all(report: &Report, dir: &Path) -> Result<()> {
    let doc = document(report)?;
    let files = [("report.json", json(report)?), ("report.md", doc.markdown()), ("report.html", doc.html())];
    write_files(dir, &files)
}

/// Atomically writes each `(name, text)` into `dir`, naming the file that could not be written.
pub fn write_files(dir: &Path, files: &[(&str, String)]) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create output directory {}", dir.display()))?;
    for (name, text) in files {
        let p = dir.join(name);
        golden_model::io::write_atomic(&p, text.as_bytes()).with_context(|| format!("cannot write {}", p.display()))?;
    }
    Ok(())
}
