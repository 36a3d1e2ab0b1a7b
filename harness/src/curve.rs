//! The throughput/area curve of one model: a series of throughput targets, each folded, built,
//! simulated on the test images (0 mismatches required for a point to count), synthesized, and
//! measured against its estimates. What a researcher reads to see what a given images/s costs.

use crate::report::render::{Doc, group, group_f, write_files};
use crate::report::{self, BuildOptions, ModelInfo, Report, plots, provenance};
use anyhow::{Context, Result, bail};
use plotters::prelude::*;
use rtlgen::{Folding, Resources};
use serde::{Deserialize, Serialize};
use std::path::Path;

pub const SCHEMA: &str = "qnn-curve/1";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Curve {
    pub schema: String,
    pub model: ModelInfo,
    pub clock_mhz: f64,
    /// The command that made it.
    pub command: String,
    /// Smallest II the folding limits allow, and what sets it.
    pub limit_ii: u64,
    pub limited_by: String,
    pub points: Vec<Point>,
    pub git_commit: String,
    pub git_dirty: bool,
    pub tools: report::Tools,
    pub date: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub target_fps: f64,
    pub target_ii: u64,
    pub folding: Folding,
    pub ii_measured: u64,
    pub ii_estimated: u64,
    pub latency_measured: u64,
    pub latency_estimated: u64,
    pub fps_measured: f64,
    pub synthesized: bool,
    pub measured: crate::synth::Counts,
    pub estimated: Resources,
    pub lut_pct: f64,
    pub bram36_pct: f64,
    pub critical_path_estimate_ns: Option<f64>,
    pub images: u64,
    pub mismatches: u64,
    /// The point's full report, relative to the curve's directory.
    pub report: String,
}

impl Point {
    fn of(r: &Report, target_fps: f64, target_ii: u64, dir: &str) -> Point {
        let mut estimated = Resources::default();
        for l in &r.resources.layers {
            estimated += l.estimated;
        }
        Point {
            target_fps,
            target_ii,
            folding: r.folding.clone(),
            ii_measured: r.latency.ii_cycles,
            ii_estimated: r.latency.ii_estimated,
            latency_measured: r.latency.latency_cycles,
            latency_estimated: r.latency.latency_estimated,
            fps_measured: r.latency.fps,
            synthesized: r.resources.synthesized,
            measured: r.resources.total,
            estimated,
            lut_pct: r.resources.utilization_pct.lut,
            bram36_pct: r.resources.utilization_pct.bram36,
            critical_path_estimate_ns: r.resources.critical_path_estimate_ns,
            images: r.accuracy.rtl.metrics.n,
            mismatches: r.accuracy.rtl.mismatches,
            report: format!("{dir}/report.html"),
        }
    }
}

/// Builds every point (`base` gives the model, data, seed, clock, limits) and writes
/// `curve.json`, `curve.md`, `curve.html` and each point's report under `out/points/`.
pub fn run(base: &BuildOptions, targets_fps: &[f64], command: &str, out: &Path, progress: &mut dyn FnMut(&str)) -> Result<Curve> {
    if targets_fps.is_empty() {
        bail!("no throughput targets: give --fps, e.g. --fps 5000,10000,20000,40000,80000");
    }
    let model = crate::paths::load_model(base.model.as_deref())?;
    let (limit_ii, limited_by) = rtlgen::folding::limit(&model, base.limits);
    let mut targets = targets_fps.to_vec();
    targets.sort_by(f64::total_cmp);
    let mut points = vec![];
    let mut first: Option<Report> = None;
    for &fps in &targets {
        let ii = rtlgen::folding::ii_for_fps(fps, base.clock_mhz).map_err(anyhow::Error::msg)?;
        progress(&format!("curve point {} images/s (II <= {ii} cycles)", group_f(fps)));
        let opts = BuildOptions { target_ii: Some(ii), folding: None, ..base.clone() };
        let r = report::build(&opts, progress).with_context(|| format!("curve point {fps} images/s"))?;
        let dir = format!("points/{}", fps.round() as u64);
        report::render::write_all(&r, &out.join(&dir))?;
        if r.accuracy.rtl.mismatches > 0 {
            bail!(
                "curve point {fps} images/s: {} images differ between RTL and golden model (see {}/report.md)",
                r.accuracy.rtl.mismatches,
                out.join(&dir).display()
            );
        }
        points.push(Point::of(&r, fps, ii, &dir));
        first.get_or_insert(r);
    }
    let r0 = first.expect("at least one target");
    let root = crate::paths::workspace_root();
    let (git_commit, git_dirty) = provenance::git_state(&root);
    let curve = Curve {
        schema: SCHEMA.into(),
        model: r0.model.clone(),
        clock_mhz: base.clock_mhz,
        command: command.into(),
        limit_ii,
        limited_by,
        points,
        git_commit,
        git_dirty,
        tools: r0.provenance.tools.clone(),
        date: provenance::now_rfc3339(),
    };
    write(&curve, out)?;
    Ok(curve)
}

pub fn write(c: &Curve, out: &Path) -> Result<()> {
    let doc = document(c)?;
    let mut json = serde_json::to_string_pretty(c)?;
    json.push('\n');
    write_files(out, &[("curve.json", json), ("curve.md", doc.markdown()), ("curve.html", doc.html())])
}

fn folding_summary(f: &Folding) -> String {
    let layers: Vec<String> = f
        .layers
        .iter()
        .flatten()
        .map(|l| if l.mmv > 1 { format!("{}x{}x{}", l.pe, l.simd, l.mmv) } else { format!("{}x{}", l.pe, l.simd) })
        .collect();
    format!("{} px/beat; {}", f.in_pixels, layers.join(" "))
}

pub fn document(c: &Curve) -> Result<Doc> {
    let mut d = Doc::new(format!("Throughput / area curve: {}", c.model.name));
    d.p(format!(
        "Model `{}` ({}), clock {} MHz, device XCZU7EV (ZCU104). Made by `{}`.",
        c.model.name, c.model.file, c.clock_mhz, c.command
    ));
    d.p(
        "Each point: the cheapest folding (by the generator's estimates) for the target, FIFO depths sized from \
         simulation, all test images through the RTL (0 mismatches with the golden model), II and latency measured in \
         simulation, resources from Yosys `synth_xilinx -family xcup -abc9`. Estimates are the generator's analytical \
         model; the critical path is Yosys `sta` (7-series delays, no carry/RAM arcs): an estimate.",
    );
    d.figure("Images per second against LUTs (log-log): measured (Yosys, simulation) and estimated", chart(c)?);
    let rows = c
        .points
        .iter()
        .map(|p| {
            vec![
                group_f(p.target_fps),
                group(p.ii_measured),
                group(p.ii_estimated),
                format!("{:.3}", p.ii_measured as f64 / p.ii_estimated.max(1) as f64),
                group_f(p.fps_measured),
                format!("{} / {}", group(p.latency_measured), group(p.latency_estimated)),
                if p.synthesized { format!("{} ({:.2} %)", group(p.measured.lut), p.lut_pct) } else { "–".into() },
                group(p.estimated.lut),
                if p.synthesized { group(p.measured.ff) } else { "–".into() },
                group(p.estimated.ff),
                if p.synthesized { format!("{:.1}", report::render::bram36_equiv(&p.measured)) } else { "–".into() },
                format!("{:.1}", p.estimated.bram18 as f64 / 2.0),
                if p.synthesized { group(p.measured.dsp) } else { "–".into() },
                p.critical_path_estimate_ns.map_or("–".into(), |ns| format!("{ns:.2}")),
                format!("{} / {}", p.mismatches, p.images),
                format!("[{}]({})", folding_summary(&p.folding), p.report),
            ]
        })
        .collect();
    d.table(
        &[
            "target images/s",
            "II meas.",
            "II est.",
            "meas./est.",
            "images/s meas.",
            "latency meas. / est.",
            "LUT (Yosys)",
            "LUT est.",
            "FF (Yosys)",
            "FF est.",
            "BRAM36 (Yosys)",
            "BRAM36 est.",
            "DSP",
            "crit. path est. ns",
            "mismatches",
            "folding (PE x SIMD [x MMV] per layer)",
        ],
        &[true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, false],
        rows,
    );
    d.p(format!(
        "Top end: the folding limits allow at most an II of {} cycles ({} images/s at {} MHz), set by {}.",
        group(c.limit_ii),
        group_f(c.clock_mhz * 1e6 / c.limit_ii.max(1) as f64),
        c.clock_mhz,
        c.limited_by
    ));
    d.list(vec![
        format!("git commit `{}`{}", c.git_commit, if c.git_dirty { " (working tree had uncommitted changes)" } else { "" }),
        format!("Verilator: {}; Yosys: {}", c.tools.verilator, c.tools.yosys),
        format!("date: {}", c.date),
    ]);
    Ok(d)
}

/// Log-log scatter: measured points joined in target order, estimated points beside them.
fn chart(c: &Curve) -> Result<String> {
    let meas: Vec<(f64, f64)> =
        c.points.iter().filter(|p| p.synthesized).map(|p| (p.measured.lut as f64, p.fps_measured)).collect();
    let est: Vec<(f64, f64)> = c
        .points
        .iter()
        .map(|p| (p.estimated.lut as f64, c.clock_mhz * 1e6 / p.ii_estimated.max(1) as f64))
        .collect();
    let all: Vec<(f64, f64)> = meas.iter().chain(&est).copied().filter(|(x, y)| *x > 0.0 && *y > 0.0).collect();
    let (x0, x1) = all.iter().fold((f64::INFINITY, 0.0f64), |(a, b), p| (a.min(p.0), b.max(p.0)));
    let (y0, y1) = all.iter().fold((f64::INFINITY, 0.0f64), |(a, b), p| (a.min(p.1), b.max(p.1)));
    let (x0, x1, y0, y1) = if x0.is_finite() { (x0 / 1.4, x1 * 1.4, y0 / 1.4, y1 * 1.4) } else { (1.0, 10.0, 1.0, 10.0) };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (plots::WIDTH, plots::HEIGHT + 60)).into_drawing_area();
        root.fill(&WHITE).map_err(plots::plot_err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption("Throughput vs LUTs", ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(48)
            .y_label_area_size(72)
            .build_cartesian_2d((x0..x1).log_scale(), (y0..y1).log_scale())
            .map_err(plots::plot_err)?;
        let fmt = |v: &f64| plots::si(*v);
        chart
            .configure_mesh()
            .x_desc("LUTs (log scale)")
            .y_desc("images/s (log scale)")
            .x_label_formatter(&fmt)
            .y_label_formatter(&fmt)
            .draw()
            .map_err(plots::plot_err)?;
        chart
            .draw_series(LineSeries::new(meas.clone(), plots::PRIMARY.stroke_width(2)))
            .map_err(plots::plot_err)?
            .label("measured (Yosys LUTs, simulated II)")
            .legend(|(x, y)| Circle::new((x + 10, y), 4, plots::PRIMARY.filled()));
        chart
            .draw_series(meas.iter().map(|&(x, y)| Circle::new((x, y), 5, plots::PRIMARY.filled())))
            .map_err(plots::plot_err)?;
        chart
            .draw_series(est.iter().map(|&(x, y)| TriangleMarker::new((x, y), 6, plots::SECONDARY.filled())))
            .map_err(plots::plot_err)?
            .label("estimated (generator)")
            .legend(|(x, y)| TriangleMarker::new((x + 10, y), 6, plots::SECONDARY.filled()));
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK.mix(0.3))
            .draw()
            .map_err(plots::plot_err)?;
        root.present().map_err(plots::plot_err)?;
    }
    Ok(svg)
}

/// Default targets: a decade and a half around the input floor of a 64 x 64 image.
pub const DEFAULT_TARGETS: [f64; 5] = [5_000.0, 10_000.0, 20_000.0, 40_000.0, 80_000.0];
