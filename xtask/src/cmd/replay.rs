//! `cargo xtask replay <case.json>`: re-runs a failing RTL property case saved by the property
//! tests (or the mutation run), writes its waveform (FST beside the case, or --trace FILE) and
//! prints the mismatch report.

use anyhow::{Context, Result, bail};
use harness::rtlcheck::sources::RtlSources;
use harness::rtlcheck::suite::{self, SavedCase};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// case.json written by a failing property test (target/rtlcheck/failures/<name>/case.json)
    pub case: PathBuf,
    /// Simulate this RTL directory instead of the one the case was found with (e.g. `rtl` after a fix)
    #[arg(long)]
    pub rtl: Option<PathBuf>,
    /// Write the waveform here: FILE.fst or FILE.vcd [default: wave.fst beside the case]; open it in
    /// GTKWave or Surfer
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<()> {
    if let Some(t) = &args.trace {
        sim::TraceFormat::from_path(t).map_err(anyhow::Error::msg)?;
    }
    let dir = args.case.parent().map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."));
    let wave = args.trace.clone().unwrap_or_else(|| dir.join(suite::WAVE));
    crate::tools::ensure(&crate::tools::for_trace(Some(&wave)))?;
    let text = std::fs::read_to_string(&args.case).with_context(|| format!("cannot read {}", args.case.display()))?;
    let saved: SavedCase = serde_json::from_str(&text).with_context(|| format!("{} is not a saved case", args.case.display()))?;
    let rtl = args.rtl.clone().unwrap_or_else(|| saved.rtl_dir.clone());
    if !rtl.is_dir() {
        bail!("the case's RTL directory {} is gone: pass --rtl DIR (e.g. --rtl rtl)", rtl.display());
    }
    let sources = RtlSources::new(std::path::absolute(&rtl)?);
    let (failure, report) = suite::replay_traced(&saved.config, &sources, &saved.case, &dir, &wave)?;
    println!("{report}");
    if failure.is_some() {
        bail!("the case fails (report: {})", dir.join("mismatch.txt").display());
    }
    Ok(())
}
