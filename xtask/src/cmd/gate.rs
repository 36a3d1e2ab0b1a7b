//! `cargo xtask gate`: a fresh report against a baseline report; non-zero exit when a threshold is
//! crossed. Writes JUnit XML and a Markdown summary (also appended to `$GITHUB_STEP_SUMMARY`).

use super::report::{Measure, progress_printer};
use anyhow::{Context, Result, bail};
use harness::gate::{self, Sides, Thresholds};
use harness::report::{self, BuildOptions, Report, render};
use std::io::Write as _;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
#[command(
    about = "Compare a fresh report with a baseline; non-zero exit when a threshold is crossed",
    after_help = "Checks: RTL mismatches; drops of accuracy, balanced accuracy and AUC (golden and RTL, in points); \
increases of latency, II, LUT, FF and BRAM (RAMB36 units) in percent of the baseline; equal test-set and RTL image \
counts. A different model hash only warns. Limits come from gate.toml (a delta exactly at a limit passes; `inf` \
disables a check).\n\n\
Without --report, the fresh report is built into target/gate/ with the baseline's model file, folding, simulation \
seed, clock and RTL image count; flags override them.\n\n\
Examples:\n  cargo xtask gate\n  cargo xtask gate --report /tmp/new/report.json --baseline reports/report.json"
)]
pub struct Args {
    /// Baseline report [default: reports/report.json]
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// Existing fresh report to compare (instead of building one)
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Thresholds (TOML) [default: gate.toml in the workspace]
    #[arg(long, value_name = "FILE")]
    thresholds: Option<PathBuf>,
    /// JUnit XML output [default: target/gate/junit.xml]
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Markdown summary output [default: target/gate/summary.md]
    #[arg(long, value_name = "FILE")]
    summary: Option<PathBuf>,
    /// Where the fresh report is written [default: target/gate/]
    #[arg(long, value_name = "DIR", conflicts_with = "report")]
    out: Option<PathBuf>,
    /// Model for the fresh report [default: the baseline's model.file]
    #[arg(long, value_name = "FILE", conflicts_with = "report")]
    model: Option<PathBuf>,
    /// Folding for the fresh report [default: the baseline's folding]
    #[arg(long, value_name = "FILE", conflicts_with = "report")]
    folding: Option<PathBuf>,
    /// Simulation seed for the fresh report [default: the baseline's provenance.seed]
    #[arg(long, conflicts_with = "report")]
    seed: Option<u64>,
    /// Clock for latency in µs and images/s [default: the baseline's]
    #[arg(long, value_name = "MHZ", conflicts_with = "report")]
    clock_mhz: Option<f64>,
    #[command(flatten)]
    measure: Measure,
}

fn thresholds(args: &Args) -> Result<Thresholds> {
    match &args.thresholds {
        Some(p) => Thresholds::load(p),
        None => {
            let p = crate::project_root().join("gate.toml");
            if p.is_file() {
                Thresholds::load(&p)
            } else {
                eprintln!("note: {} not found; using the built-in default thresholds", p.display());
                Ok(Thresholds::default())
            }
        }
    }
}

/// The fresh report's build options: the baseline's settings (model, folding, seed, clock, RTL
/// images, synthesizer) unless flags say otherwise.
fn fresh_options(args: &Args, baseline: &Report, out: &Path) -> Result<BuildOptions> {
    let root = crate::project_root();
    let model = match &args.model {
        Some(m) => m.clone(),
        None => {
            let p = PathBuf::from(&baseline.model.file);
            let p = if p.is_absolute() { p } else { root.join(p) };
            if !p.is_file() {
                bail!(
                    "the baseline's model {} does not exist: pass --model FILE, or a fresh report with --report FILE",
                    p.display()
                );
            }
            p
        }
    };
    // Written by `build_fresh` (after the tool check) unless --folding names one.
    let folding = args.folding.clone().unwrap_or_else(|| out.join(BASELINE_FOLDING));
    let g = &baseline.accuracy;
    // A baseline over a prefix of the test images is compared with the same prefix.
    let rtl_images = (g.rtl.metrics.n < g.golden.n).then_some(g.rtl.metrics.n as usize);
    args.measure.apply(BuildOptions {
        model: Some(model),
        folding: Some(folding),
        seed: args.seed.unwrap_or(baseline.provenance.seed),
        clock_mhz: match args.clock_mhz {
            Some(mhz) if !(mhz.is_finite() && mhz > 0.0) => bail!("--clock-mhz {mhz}: the clock must be a positive number of MHz"),
            Some(mhz) => mhz,
            None => baseline.latency.clock_mhz,
        },
        rtl_images,
        // Reports from before the choice existed were all made with the default.
        synth: baseline.resources.synth.unwrap_or_default(),
        ..BuildOptions::default()
    })
}

const BASELINE_FOLDING: &str = "baseline-folding.json";

fn build_fresh(opts: &BuildOptions, baseline: &Report, out: &Path) -> Result<(Report, PathBuf)> {
    if let Some(p) = &opts.folding
        && p == &out.join(BASELINE_FOLDING)
    {
        let text = serde_json::to_string_pretty(&baseline.folding)? + "\n";
        golden_model::io::write_atomic(p, text.as_bytes()).with_context(|| format!("cannot write {}", p.display()))?;
    }
    let mut progress = progress_printer();
    let r = report::build(opts, &mut progress)?;
    render::write_all(&r, out)?;
    Ok((r, out.join("report.json")))
}

fn write(path: &Path, text: &str) -> Result<()> {
    golden_model::io::write_atomic(path, text.as_bytes()).with_context(|| format!("cannot write {}", path.display()))
}

pub fn run(args: Args) -> Result<()> {
    let m = &args.measure;
    if args.report.is_some()
        && (m.data.is_some()
            || m.skip_synth
            || m.rtl_images.is_some()
            || m.synth.synth.is_some()
            || m.synth.dsp.is_some())
    {
        bail!(
            "--report uses an existing report; --data, --skip-synth, --rtl-images, --synth and --dsp only apply when \
             the gate builds one"
        );
    }
    let thresholds = thresholds(&args)?;
    let gate_dir = harness::paths::target_dir().join("gate");
    let baseline_path = args.baseline.clone().unwrap_or_else(|| crate::project_root().join("reports/report.json"));
    let read_baseline = || {
        gate::read_report(&baseline_path).with_context(|| {
            format!(
                "baseline {}: make one with `cargo xtask report` (and commit it), or pass --baseline FILE",
                baseline_path.display()
            )
        })
    };
    let (baseline, fresh, fresh_path) = match &args.report {
        Some(p) => {
            let baseline = read_baseline()?;
            let fresh = gate::read_report(p).with_context(|| format!("fresh report {}", p.display()))?;
            (baseline, fresh, p.clone())
        }
        None => {
            let baseline = read_baseline()?;
            let out = args.out.clone().unwrap_or_else(|| gate_dir.clone());
            let opts = fresh_options(&args, &baseline, &out)?;
            // Before any long work: a new machine without the tools stops here.
            m.ensure_tools(&opts)?;
            // Refuse before spending minutes on a report that could not be compared.
            if let Some(base) = baseline.resources.synth
                && baseline.resources.synthesized
                && !opts.skip_synth
                && base != opts.synth
            {
                bail!(
                    "the baseline {} was synthesized with {} (DSP mapping {}) and the fresh report would be with {} \
                     (DSP mapping {}): the gate refuses to compare resources of different synthesizers; drop --synth/--dsp \
                     (and QNN_SYNTH/QNN_SYNTH_DSP) to use the baseline's, or commit a baseline made with the new one",
                    baseline_path.display(),
                    base.synthesizer,
                    base.dsp,
                    opts.synth.synthesizer,
                    opts.synth.dsp
                );
            }
            let (fresh, path) = build_fresh(&opts, &baseline, &out)?;
            (baseline, fresh, path)
        }
    };
    let outcome = gate::compare(&baseline, &fresh, &thresholds);
    let (bl, fl) = (baseline_path.display().to_string(), fresh_path.display().to_string());
    let summary =
        gate::summary(&outcome, &Sides { baseline_label: &bl, baseline: &baseline, fresh_label: &fl, fresh: &fresh });
    let junit_path = args.junit.clone().unwrap_or_else(|| gate_dir.join("junit.xml"));
    let summary_path = args.summary.clone().unwrap_or_else(|| gate_dir.join("summary.md"));
    write(&junit_path, &gate::junit(&outcome))?;
    write(&summary_path, &summary)?;
    print!("{summary}");
    if let Some(step) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|s| !s.is_empty()) {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&step)
            .with_context(|| format!("cannot open $GITHUB_STEP_SUMMARY ({})", PathBuf::from(&step).display()))?;
        writeln!(f, "{summary}").context("cannot append to $GITHUB_STEP_SUMMARY")?;
    }
    eprintln!("JUnit: {}; summary: {}", junit_path.display(), summary_path.display());
    if !outcome.passed() {
        bail!("{}", gate::describe(&outcome));
    }
    Ok(())
}
