//! `cargo xtask curve`: the throughput/area curve of a model's accelerator, one full report per
//! throughput target, summarised with a plot of images/s against LUTs.

use super::generate::AutoFolding;
use super::report::{Measure, progress_printer};
use anyhow::{Result, bail};
use harness::report::BuildOptions;
use std::path::PathBuf;

#[derive(clap::Args)]
#[command(
    about = "Throughput/area curve: fold, build, simulate and synthesize at a series of throughput targets",
    after_help = "For each target (images/s at --clock-mhz) the automatic folding picks the cheapest design that meets \
it within the limits, sizes its FIFOs from simulation, runs every test image through the RTL (0 mismatches required), \
measures II and latency in simulation and resources with Yosys, and writes a full report under OUT/points/<fps>/. \
OUT/curve.json, curve.md and curve.html put the points side by side with their estimates and plot images/s against LUTs.\n\n\
Examples:\n  cargo xtask curve\n  cargo xtask curve --fps 10000,40000 --out /tmp/curve --skip-synth --rtl-images 50"
)]
pub struct Args {
    /// Model file (*.qnn.json) [default: models/default.qnn.json]
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    /// Throughput targets in images per second
    #[arg(long, value_name = "FPS,...", value_delimiter = ',', default_values_t = harness::curve::DEFAULT_TARGETS)]
    pub fps: Vec<f64>,
    /// Output directory [default: reports/curve in the workspace]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub auto: AutoFolding,
    /// Simulation seed (x-initialisation)
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[command(flatten)]
    pub measure: Measure,
}

pub fn run(args: Args) -> Result<()> {
    if args.auto.target_ii.is_some() || args.auto.target_fps.is_some() {
        bail!("the curve takes its targets from --fps; --target-ii and --target-fps belong to single builds");
    }
    let base = args.measure.apply(BuildOptions {
        model: args.model.clone(),
        limits: args.auto.limits()?,
        clock_mhz: args.auto.clock()?,
        seed: args.seed,
        ..BuildOptions::default()
    })?;
    args.measure.ensure_tools(&base)?;
    let out = args.out.clone().unwrap_or_else(|| crate::project_root().join("reports/curve"));
    let command = format!("cargo xtask {}", std::env::args().skip(1).collect::<Vec<_>>().join(" "));
    let mut progress = progress_printer();
    let c = harness::curve::run(&base, &args.fps, &command, &out, &mut progress)?;
    println!("{:>10} {:>8} {:>8} {:>7} {:>10} {:>9} {:>9} {:>11}", "target", "II", "II est", "ratio", "images/s", "LUT", "LUT est", "mismatches");
    for p in &c.points {
        println!(
            "{:>10.0} {:>8} {:>8} {:>7.3} {:>10.0} {:>9} {:>9} {:>11}",
            p.target_fps,
            p.ii_measured,
            p.ii_estimated,
            p.ii_measured as f64 / p.ii_estimated.max(1) as f64,
            p.fps_measured,
            p.measured.lut,
            p.estimated.lut,
            p.mismatches
        );
    }
    println!("top end: II >= {} cycles, set by {}", c.limit_ii, c.limited_by);
    println!("wrote {0}/curve.json, {0}/curve.md, {0}/curve.html", out.display());
    Ok(())
}
