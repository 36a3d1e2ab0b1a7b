//! `cargo xtask report`: build, simulate and synthesize a model's accelerator and write
//! report.json, report.md and report.html. Also home of the measurement flags `gate` and `sweep` share.

use super::generate::AutoFolding;
use super::synth::SynthChoice;
use anyhow::{Result, bail};
use harness::report::{self, BuildOptions, render};
use std::path::PathBuf;
use std::time::Instant;

#[derive(clap::Args)]
#[command(
    about = "Build, simulate and synthesize a model's accelerator: report.json / .md / .html",
    after_help = "Measures one model's accelerator: golden-model and RTL metrics on the 624 test images (and the \
images where they differ), latency and initiation interval from simulation, per-layer cycles measured vs estimated, \
Yosys resources of the XCZU7EV (ZCU104) per layer with utilization and the `sta` critical-path estimate, and \
provenance (git commit, model hash, tool versions, seed, date).\n\n\
Writes DIR/report.json (byte-identical for the same inputs and seed, apart from provenance.date), DIR/report.md \
and DIR/report.html (self-contained, SVG charts inline).\n\n\
Examples:\n  cargo xtask report\n  cargo xtask report --model models/w2a2.qnn.json --out /tmp/w2a2 --skip-synth --rtl-images 50"
)]
pub struct Args {
    /// Model file (*.qnn.json) [default: models/default.qnn.json]
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    /// Output directory [default: reports/ in the workspace]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Explicit folding (JSON, as for `cargo xtask generate`); without it the folding is automatic
    #[arg(long, value_name = "FILE")]
    pub folding: Option<PathBuf>,
    #[command(flatten)]
    pub auto: AutoFolding,
    /// Simulation seed (x-initialisation, stall patterns)
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[command(flatten)]
    pub measure: Measure,
}

/// How a report is measured, shared by `report`, `gate` and `sweep`.
#[derive(clap::Args, Clone, Debug)]
pub struct Measure {
    /// chest_xray data directory [default: the vendored data/chest_xray]
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Skip Yosys: resources then hold only the analytical estimates (quick runs)
    #[arg(long)]
    pub skip_synth: bool,
    /// Run only the first N test images through the RTL [default: all 624]
    #[arg(long, value_name = "N")]
    pub rtl_images: Option<usize>,
    #[command(flatten)]
    pub synth: SynthChoice,
}

impl Measure {
    /// What a build with these options runs: Verilator always, its synthesizer unless synthesis is skipped.
    pub fn ensure_tools(&self, opts: &BuildOptions) -> Result<()> {
        use crate::tools;
        match (self.skip_synth, opts.synth.synthesizer) {
            (true, _) => tools::ensure(&[&tools::VERILATOR]),
            // Both system tools in one apt-get line (or one error naming both).
            (false, harness::synth::Synthesizer::Yosys) => tools::ensure(&[&tools::VERILATOR, &tools::YOSYS]),
            (false, s) => {
                tools::ensure(&[&tools::VERILATOR])?;
                tools::ensure_synthesizer(s)
            }
        }
    }

    /// Build options with these flags over `base`.
    pub fn apply(&self, base: BuildOptions) -> Result<BuildOptions> {
        if self.rtl_images == Some(0) {
            bail!("--rtl-images 0: give at least 1 (or leave it out for all test images)");
        }
        Ok(BuildOptions {
            data: self.data.clone().or(base.data.clone()),
            skip_synth: self.skip_synth,
            synth: self.synth.resolve(base.synth)?,
            rtl_images: self.rtl_images.or(base.rtl_images),
            ..base
        })
    }
}

/// Progress lines on stderr, with the seconds since the start.
pub fn progress_printer() -> impl FnMut(&str) {
    let t0 = Instant::now();
    move |line: &str| eprintln!("[{:>7.1} s] {line}", t0.elapsed().as_secs_f64())
}

pub fn run(args: Args) -> Result<()> {
    let opts = args.measure.apply(BuildOptions {
        model: args.model.clone(),
        folding: args.folding.clone(),
        limits: args.auto.limits()?,
        target_ii: args.auto.target_ii()?,
        clock_mhz: args.auto.clock()?,
        seed: args.seed,
        ..BuildOptions::default()
    })?;
    args.measure.ensure_tools(&opts)?;
    let out = args.out.clone().unwrap_or_else(|| crate::project_root().join("reports"));
    let mut progress = progress_printer();
    let r = report::build(&opts, &mut progress)?;
    render::write_all(&r, &out)?;
    println!("{}", render::summary_line(&r));
    println!("wrote {0}/report.json, {0}/report.md, {0}/report.html", out.display());
    Ok(())
}
