//! Sweep charts: test accuracy against LUTs and against bit width, every job a point coloured by
//! bit width, the Pareto front connected and its points ringed and labelled.
//!
//! Both x axes are logarithmic (LUTs span orders of magnitude from w1a1 to w8a8; bit widths double),
//! drawn on a linear axis of log10 values with tick marks placed at round values of the original
//! quantity, which plotters' own log axis does not do for narrow ranges.

use super::merge::Sweep;
use super::plan::BitWidth;
use crate::report::plots::{HEIGHT, MUTED, WIDTH, plot_err, si};
use anyhow::Result;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Okabe-Ito, colour-blind safe; bit widths beyond eight reuse colours (the legend still tells them apart by label).
const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(230, 159, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
    RGBColor(213, 94, 0),
    RGBColor(240, 228, 66),
    RGBColor(0, 0, 0),
];

fn color_of(s: &Sweep, b: &BitWidth) -> RGBColor {
    PALETTE[s.plan.bits.iter().position(|x| x == b).unwrap_or(0) % PALETTE.len()]
}

/// Round values (1, 2, 3, 5 x 10^k) inside `lo..=hi`, at least two: the ends are added when the
/// range is too narrow to hold two round values.
pub fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let mut v = vec![];
    if !(lo > 0.0 && hi >= lo && hi.is_finite()) {
        return v;
    }
    let mut decade = 10f64.powf(lo.log10().floor());
    while decade <= hi {
        for m in [1.0, 2.0, 3.0, 5.0] {
            let t = m * decade;
            if t >= lo * (1.0 - 1e-12) && t <= hi * (1.0 + 1e-12) {
                v.push(t);
            }
        }
        decade *= 10.0;
    }
    if v.len() < 2 {
        v = vec![lo, hi];
        v.dedup();
    }
    v
}

struct Point {
    x: f64,
    y: f64,
    color: RGBColor,
    label: String,
}

struct Scatter<'a> {
    title: String,
    x_desc: &'a str,
    /// Original-scale x values of the tick marks, with their text.
    x_ticks: Vec<(f64, String)>,
    /// Original-scale x range (positive).
    x_range: (f64, f64),
    series: Vec<(String, RGBColor, Vec<Point>)>,
    /// Extra marks drawn over the points: (x, y_mean, y_min, y_max, label) per bit width.
    ranges: Vec<(f64, f64, f64, f64, RGBColor, String)>,
    /// Pareto front, in x order.
    front: Vec<Point>,
}

fn draw(s: &Scatter) -> Result<String> {
    let all_y: Vec<f64> = s.series.iter().flat_map(|(_, _, p)| p.iter().map(|p| p.y)).collect();
    let (mut y_lo, mut y_hi) = all_y.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &y| (a.min(y), b.max(y)));
    if !y_lo.is_finite() {
        (y_lo, y_hi) = (0.0, 100.0);
    }
    let pad = ((y_hi - y_lo) * 0.15).max(1.0);
    let (y_lo, y_hi) = ((y_lo - pad).max(0.0), (y_hi + pad * 2.0).min(100.0));
    let lx = |x: f64| x.log10();
    let (x0, x1) = (lx(s.x_range.0), lx(s.x_range.1));
    let xpad = ((x1 - x0) * 0.08).max(0.05);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT + 60)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(&s.title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(48)
            .y_label_area_size(64)
            .build_cartesian_2d((x0 - xpad)..(x1 + xpad), y_lo..y_hi)
            .map_err(plot_err)?;
        let y_fmt = |v: &f64| format!("{v:.0}");
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .light_line_style(WHITE.mix(0.0))
            .x_desc(s.x_desc)
            .y_desc("test accuracy (%)")
            .y_label_formatter(&y_fmt)
            .draw()
            .map_err(plot_err)?;
        // Our own x grid and tick labels at round values of the original quantity.
        let tick_style =
            TextStyle::from(("sans-serif", 13).into_font()).color(&BLACK).pos(Pos::new(HPos::Center, VPos::Top));
        for (x, text) in &s.x_ticks {
            let x = lx(*x);
            chart
                .draw_series(std::iter::once(PathElement::new(vec![(x, y_lo), (x, y_hi)], BLACK.mix(0.12))))
                .map_err(plot_err)?;
            chart
                .draw_series(std::iter::once(
                    EmptyElement::at((x, y_lo))
                        + PathElement::new(vec![(0, 0), (0, 5)], BLACK)
                        + Text::new(text.clone(), (0, 8), tick_style.clone()),
                ))
                .map_err(plot_err)?;
        }
        if s.front.len() > 1 {
            chart
                .draw_series(LineSeries::new(s.front.iter().map(|p| (lx(p.x), p.y)), BLACK.mix(0.6).stroke_width(2)))
                .map_err(plot_err)?
                .label("Pareto front")
                .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLACK.mix(0.6).stroke_width(2)));
        }
        for (x, mean, lo, hi, color, _) in &s.ranges {
            let x = lx(*x);
            let c = *color;
            chart
                .draw_series([
                    PathElement::new(vec![(x, *lo), (x, *hi)], c.stroke_width(2)),
                    PathElement::new(vec![(x, *mean), (x, *mean)], c.stroke_width(2)),
                ])
                .map_err(plot_err)?;
            chart
                .draw_series(std::iter::once(
                    EmptyElement::at((x, *mean)) + Rectangle::new([(-9, -2), (9, 2)], c.filled()),
                ))
                .map_err(plot_err)?;
        }
        for (name, color, points) in &s.series {
            let c = *color;
            chart
                .draw_series(points.iter().map(|p| Circle::new((lx(p.x), p.y), 4, p.color.mix(0.85).filled())))
                .map_err(plot_err)?
                .label(name.clone())
                .legend(move |(x, y)| Circle::new((x + 6, y), 4, c.filled()));
        }
        let label_style =
            TextStyle::from(("sans-serif", 11).into_font()).color(&BLACK).pos(Pos::new(HPos::Left, VPos::Bottom));
        chart
            .draw_series(s.front.iter().map(|p| {
                EmptyElement::at((lx(p.x), p.y))
                    + Circle::new((0, 0), 8, BLACK.stroke_width(2))
                    + Text::new(p.label.clone(), (8, -8), label_style.clone())
            }))
            .map_err(plot_err)?;
        let range_label =
            TextStyle::from(("sans-serif", 11).into_font()).color(&MUTED).pos(Pos::new(HPos::Left, VPos::Center));
        chart
            .draw_series(s.ranges.iter().map(|(x, _, lo, _, _, label)| {
                EmptyElement::at((lx(*x), *lo)) + Text::new(label.clone(), (6, 8), range_label.clone())
            }))
            .map_err(plot_err)?;
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 13))
            .draw()
            .map_err(plot_err)?;
        root.present().map_err(plot_err)?;
    }
    Ok(svg)
}

fn by_bits<F: Fn(&super::result::JobSummary) -> f64>(s: &Sweep, x: F) -> Vec<(String, RGBColor, Vec<Point>)> {
    let mut out = vec![];
    for b in &s.plan.bits {
        let color = color_of(s, b);
        let points: Vec<Point> = s
            .jobs
            .iter()
            .filter(|r| r.job.bits == *b)
            .map(|r| Point { x: x(r), y: 100.0 * r.accuracy, color, label: String::new() })
            .collect();
        if !points.is_empty() {
            out.push((b.tag(), color, points));
        }
    }
    out
}

fn front_points<F: Fn(&super::result::JobSummary) -> f64>(s: &Sweep, ids: &[String], x: F) -> Vec<Point> {
    let mut v: Vec<Point> = s
        .jobs
        .iter()
        .filter(|r| ids.contains(&r.id))
        .map(|r| Point {
            x: x(r),
            y: 100.0 * r.accuracy,
            color: color_of(s, &r.job.bits),
            label: format!("{} s{}", r.job.bits.tag(), r.job.seed),
        })
        .collect();
    v.sort_by(|a, b| a.x.total_cmp(&b.x).then(a.y.total_cmp(&b.y)));
    v
}

fn arch_note(s: &Sweep) -> String {
    format!("{}, {} epochs", s.plan.archs.join("/"), s.epochs)
}

/// Test accuracy (golden model, whole test split) against total LUTs.
pub fn accuracy_vs_lut(s: &Sweep) -> Result<String> {
    let lut = |r: &super::result::JobSummary| (r.lut as f64).max(1.0);
    let (lo, hi) = s.jobs.iter().map(lut).fold((f64::INFINITY, 0.0f64), |(a, b), v| (a.min(v), b.max(v)));
    let (lo, hi) = if lo.is_finite() { (lo, hi.max(lo * 1.0001)) } else { (1.0, 10.0) };
    draw(&Scatter {
        title: format!("Test accuracy vs LUTs ({})", arch_note(s)),
        x_desc: "LUTs (log scale)",
        x_ticks: log_ticks(lo, hi).into_iter().map(|t| (t, si(t))).collect(),
        x_range: (lo, hi),
        series: by_bits(s, lut),
        ranges: vec![],
        front: front_points(s, &s.pareto_accuracy_vs_lut, lut),
    })
}

/// Test accuracy against weight + activation bits: every job, and per bit width the mean (bar) and
/// min..max over seeds.
pub fn accuracy_vs_bits(s: &Sweep) -> Result<String> {
    let bits = |r: &super::result::JobSummary| f64::from(r.job.bits.total());
    let mut totals: Vec<u32> = s.groups.iter().map(|g| g.bits.total()).collect();
    totals.sort_unstable();
    totals.dedup();
    let lo = totals.first().copied().unwrap_or(2) as f64;
    let hi = (totals.last().copied().unwrap_or(16) as f64).max(lo * 1.0001);
    let ranges = s
        .groups
        .iter()
        .map(|g| {
            let x = f64::from(g.bits.total());
            (
                x,
                100.0 * g.accuracy.mean,
                100.0 * g.accuracy.min,
                100.0 * g.accuracy.max,
                color_of(s, &g.bits),
                g.bits.tag(),
            )
        })
        .collect();
    draw(&Scatter {
        title: format!("Test accuracy vs bit width ({})", arch_note(s)),
        x_desc: "weight + activation bits (log scale); bars: mean and min-max over seeds",
        x_ticks: totals.iter().map(|&t| (f64::from(t), t.to_string())).collect(),
        x_range: (lo, hi),
        series: by_bits(s, bits),
        ranges,
        front: front_points(s, &s.pareto_accuracy_vs_bits, bits),
    })
}
