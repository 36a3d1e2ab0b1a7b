//! SVG charts of a report, rendered into strings with plotters' SVG backend. Text stays SVG `<text>`
//! (plotters' built-in text metrics, no font files), so the charts embed in self-contained HTML and
//! render the same on every machine.

use super::Report;
use anyhow::Result;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

pub const WIDTH: u32 = 860;
pub const HEIGHT: u32 = 400;

/// Colour-blind-safe pair (Okabe-Ito blue and orange) for measured vs estimated, golden vs RTL.
pub const PRIMARY: RGBColor = RGBColor(0, 114, 178);
pub const SECONDARY: RGBColor = RGBColor(230, 159, 0);
pub const ACCENT: RGBColor = RGBColor(213, 94, 0);
pub const MUTED: RGBColor = RGBColor(120, 120, 120);

pub fn plot_err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow::anyhow!("plotting failed: {e:?}")
}

/// Compact counts for ticks and bar labels: `950`, `16k`, `16.2k`, `125k`, `1.25M`.
pub fn si(v: f64) -> String {
    let a = v.abs();
    let s = if a >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if a >= 1e5 {
        format!("{:.0}k", v / 1e3)
    } else if a >= 1e3 {
        format!("{:.1}k", v / 1e3)
    } else if a >= 10.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    };
    // "16.0k" reads as more precise than it is next to "16k".
    s.replace(".00M", "M").replace(".0k", "k")
}

/// One bar per category; `None` = no value (drawn as a gap, not as zero).
pub struct Series {
    pub name: String,
    pub color: RGBColor,
    pub values: Vec<Option<f64>>,
}

pub struct BarChart<'a> {
    pub title: &'a str,
    pub x_desc: &'a str,
    pub y_desc: &'a str,
    pub categories: &'a [String],
    pub series: &'a [Series],
    /// Fixed top of the value axis (e.g. 100 for percentages); default: the largest value plus room.
    pub y_max: Option<f64>,
    /// Decimals of the value printed above each bar; `None` = SI-style integers.
    pub label_decimals: Option<usize>,
}

/// Bars grouped by category, one colour per series, value printed on top of each bar.
pub fn grouped_bars(c: &BarChart) -> Result<String> {
    let n = c.categories.len().max(1);
    let largest = c.series.iter().flat_map(|s| s.values.iter().flatten()).fold(0.0f64, |m, &v| m.max(v));
    // Headroom above the tallest bar for its label and the legend box.
    let y_max = c.y_max.unwrap_or(if largest > 0.0 { largest * 1.35 } else { 1.0 });
    let names = c.categories.to_vec();
    let x_formatter = move |x: &SegmentValue<usize>| match x {
        SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => names.get(*i).cloned().unwrap_or_default(),
        SegmentValue::Last => String::new(),
    };
    let y_formatter = |v: &f64| si(*v);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(c.title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(48)
            .y_label_area_size(64)
            .build_cartesian_2d((0..n - 1).into_segmented(), 0.0..y_max)
            .map_err(plot_err)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n)
            .light_line_style(WHITE.mix(0.0))
            .x_desc(c.x_desc)
            .y_desc(c.y_desc)
            .x_label_formatter(&x_formatter)
            .y_label_formatter(&y_formatter)
            .x_label_style(("sans-serif", 13))
            .draw()
            .map_err(plot_err)?;
        // Bars sit inside their category's segment; offsets are in pixels of the plotting area.
        let seg = {
            let at = |i| chart.backend_coord(&(SegmentValue::Exact(i), 0.0)).0;
            f64::from(at(1) - at(0))
        };
        let k = c.series.len().max(1) as f64;
        let bar = seg * 0.8 / k;
        for (j, s) in c.series.iter().enumerate() {
            let color = s.color;
            let left = (seg * 0.1 + j as f64 * bar).round() as u32;
            let right = (seg - seg * 0.1 - (j as f64 + 1.0) * bar + bar * 0.08).round().max(0.0) as u32;
            let bars = s.values.iter().enumerate().filter_map(|(i, v)| {
                let v = (*v)?;
                let mut r = Rectangle::new(
                    [(SegmentValue::Exact(i), 0.0), (SegmentValue::Exact(i + 1), v.min(y_max))],
                    color.filled(),
                );
                r.set_margin(0, 0, left, right);
                Some(r)
            });
            let drawn = chart.draw_series(bars).map_err(plot_err)?;
            if c.series.len() > 1 {
                drawn
                    .label(s.name.clone())
                    .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled()));
            }
            let centre = (seg * 0.1 + (j as f64 + 0.46) * bar).round() as i32;
            let labels = s.values.iter().enumerate().filter_map(|(i, v)| {
                let v = (*v)?;
                let text = match c.label_decimals {
                    Some(d) => format!("{v:.d$}"),
                    None => si(v),
                };
                let style = TextStyle::from(("sans-serif", 11).into_font())
                    .color(&BLACK)
                    .pos(Pos::new(HPos::Center, VPos::Bottom));
                Some(EmptyElement::at((SegmentValue::Exact(i), v.min(y_max))) + Text::new(text, (centre, -2), style))
            });
            chart.draw_series(labels).map_err(plot_err)?;
        }
        if c.series.len() > 1 {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .label_font(("sans-serif", 13))
                .draw()
                .map_err(plot_err)?;
        }
        root.present().map_err(plot_err)?;
    }
    Ok(svg)
}

fn two_series(a: (&str, Vec<Option<f64>>), b: (&str, Vec<Option<f64>>)) -> [Series; 2] {
    [
        Series { name: a.0.into(), color: PRIMARY, values: a.1 },
        Series { name: b.0.into(), color: SECONDARY, values: b.1 },
    ]
}

pub fn layer_cycles(r: &Report) -> Result<String> {
    let names: Vec<String> = r.latency.layers.iter().map(|l| l.name.clone()).collect();
    let series = two_series(
        ("measured (simulation)", r.latency.layers.iter().map(|l| Some(l.cycles_measured as f64)).collect()),
        ("estimated (folding)", r.latency.layers.iter().map(|l| Some(l.cycles_estimated as f64)).collect()),
    );
    grouped_bars(&BarChart {
        title: "Cycles per image by layer",
        x_desc: "layer",
        y_desc: "cycles per image",
        categories: &names,
        series: &series,
        y_max: None,
        label_decimals: None,
    })
}

/// Per-layer resource bars, measured (Yosys) vs estimated (analytical model).
fn layer_resource(
    r: &Report,
    title: &str,
    unit: &str,
    measured: fn(&crate::synth::Counts) -> u64,
    estimated: fn(&rtlgen::Resources) -> u64,
) -> Result<String> {
    let names: Vec<String> = r.resources.layers.iter().map(|l| l.name.clone()).collect();
    let series = two_series(
        ("measured (Yosys)", r.resources.layers.iter().map(|l| Some(measured(&l.measured) as f64)).collect()),
        ("estimated (analytical)", r.resources.layers.iter().map(|l| Some(estimated(&l.estimated) as f64)).collect()),
    );
    grouped_bars(&BarChart {
        title,
        x_desc: "layer",
        y_desc: unit,
        categories: &names,
        series: &series,
        y_max: None,
        label_decimals: None,
    })
}

pub fn layer_luts(r: &Report) -> Result<String> {
    layer_resource(r, "LUTs by layer", "LUTs", |c| c.lut, |e| e.lut)
}

pub fn layer_ffs(r: &Report) -> Result<String> {
    layer_resource(r, "Flip-flops by layer", "flip-flops", |c| c.ff, |e| e.ff)
}

pub fn utilization(r: &Report) -> Result<String> {
    let u = &r.resources.utilization_pct;
    let names: Vec<String> = ["LUT", "FF", "BRAM (36 Kb)", "URAM", "DSP"].into_iter().map(String::from).collect();
    let series = [Series {
        name: "% of device".into(),
        color: PRIMARY,
        values: vec![Some(u.lut), Some(u.ff), Some(u.bram36), Some(u.uram), Some(u.dsp)],
    }];
    let top = [u.lut, u.ff, u.bram36, u.uram, u.dsp].into_iter().fold(0.0f64, f64::max);
    // Small designs would be invisible on a 0..100 % axis; zoom in but never past 100 %.
    let y_max = if top <= 0.0 { 1.0 } else { (top * 1.25).min(100.0).max(top * 1.05) };
    grouped_bars(&BarChart {
        title: &format!("Utilization of the {}", r.resources.device),
        x_desc: "resource",
        y_desc: "% of device",
        categories: &names,
        series: &series,
        y_max: Some(y_max),
        label_decimals: Some(2),
    })
}

pub fn accuracy(r: &Report) -> Result<String> {
    let names: Vec<String> =
        ["accuracy", "sensitivity", "specificity", "balanced acc.", "AUC"].into_iter().map(String::from).collect();
    let pct = |m: &golden_model::metrics::BinaryMetrics| {
        vec![Some(m.accuracy), m.sensitivity, m.specificity, m.balanced_accuracy, m.auc]
            .into_iter()
            .map(|v| v.map(|x| 100.0 * x))
            .collect::<Vec<_>>()
    };
    let series = two_series(
        (&format!("golden model (n = {})", r.accuracy.golden.n), pct(&r.accuracy.golden)),
        (&format!("RTL (n = {})", r.accuracy.rtl.metrics.n), pct(&r.accuracy.rtl.metrics)),
    );
    grouped_bars(&BarChart {
        title: &format!("Test metrics ({} split)", r.accuracy.split),
        x_desc: "metric",
        y_desc: "% (AUC x 100)",
        categories: &names,
        series: &series,
        y_max: Some(115.0),
        label_decimals: Some(1),
    })
}

/// Every chart of a report with its caption, in the order the HTML page shows them; charts without
/// data (e.g. no per-layer figures) are left out.
pub fn all(r: &Report) -> Result<Vec<(String, String)>> {
    let mut v = vec![("Golden model vs RTL on the test split".to_string(), accuracy(r)?)];
    if !r.latency.layers.is_empty() {
        v.push(("Cycles per image by layer: simulation vs folding estimate".into(), layer_cycles(r)?));
    }
    if !r.resources.layers.is_empty() {
        v.push(("LUTs by layer: Yosys vs analytical estimate".into(), layer_luts(r)?));
        v.push(("Flip-flops by layer: Yosys vs analytical estimate".into(), layer_ffs(r)?));
    }
    v.push((format!("Utilization of the {}", r.resources.device), utilization(r)?));
    Ok(v)
}
