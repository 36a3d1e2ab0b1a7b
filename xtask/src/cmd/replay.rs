//! `cargo xtask replay <case.json>`: re-runs a failing RTL property case saved by the property
//! tests (or the mutation run), writes its waveform and prints the mismatch report.

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
}

pub fn run(args: Args) -> Result<()> {
    crate::tools::ensure(&[&crate::tools::VERILATOR])?;
    let text = std::fs::read_to_string(&args.case).with_context(|| format!("cannot read {}", args.case.display()))?;
    let saved: SavedCase = serde_json::from_str(&text).with_context(|| format!("{} is not a saved case", args.case.display()))?;
    let rtl = args.rtl.clone().unwrap_or_else(|| saved.rtl_dir.clone());
    if !rtl.is_dir() {
        bail!("the case's RTL directory {} is gone: pass --rtl DIR (e.g. --rtl rtl)", rtl.display());
    }
    let dir = args.case.parent().map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."));
    let sources = RtlSources::new(std::path::absolute(&rtl)?);
    let (failure, report) = suite::replay(&saved.config, &sources, &saved.case, &dir)?;
    println!("{report}");
    if failure.is_some() {
        bail!("the case fails (report: {})", dir.join("mismatch.txt").display());
    }
    Ok(())
}
