//! `cargo xtask lint`: Verilator `--lint-only -Wall` of the RTL library and of a model's generated tops.

use super::generate::AutoFolding;
use anyhow::{Result, bail};
use harness::lint;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Model whose generated tops are linted too (default: models/default.qnn.json)
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Lint only the library modules
    #[arg(long)]
    pub library_only: bool,
    /// Explicit folding file (see `cargo xtask generate --help`)
    #[arg(long)]
    pub folding: Option<PathBuf>,
    #[command(flatten)]
    pub auto: AutoFolding,
}

pub fn run(args: Args) -> Result<()> {
    crate::tools::ensure(&[&crate::tools::VERILATOR])?;
    let mut targets = lint::library_targets();
    if !args.library_only {
        let model = harness::paths::load_model(args.model.as_deref())?;
        let folding = args.auto.folding(&model, args.folding.as_ref())?;
        let acc = harness::accel::prepare(&model, &folding)?;
        targets.extend(lint::accelerator_targets(&acc));
    }
    let mut failed = 0;
    for t in &targets {
        match lint::lint(t)? {
            Ok(()) => println!("clean  {}", t.name),
            Err(msg) => {
                failed += 1;
                println!("FAILED {}\n{msg}", t.name);
            }
        }
    }
    println!("{} of {} lint targets clean (verilator --lint-only -Wall)", targets.len() - failed, targets.len());
    if failed > 0 {
        bail!("{failed} lint target(s) have warnings");
    }
    Ok(())
}
