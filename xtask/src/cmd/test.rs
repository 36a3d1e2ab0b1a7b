//! `cargo xtask test`: the whole test suite, after making sure Verilator and Yosys are installed.

use crate::tools;
use anyhow::{Result, bail};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[derive(clap::Args)]
pub struct Args {
    /// Extra arguments for `cargo test` (after `--` they go to the test binaries)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub cargo_args: Vec<String>,
}

#[derive(Default)]
struct Totals {
    binaries: u32,
    passed: u64,
    failed: u64,
    ignored: u64,
}

impl Totals {
    /// Reads a libtest summary line: `test result: ok. 7 passed; 0 failed; 1 ignored; ...`.
    fn add(&mut self, line: &str) {
        let Some(rest) = line.trim().strip_prefix("test result: ") else { return };
        self.binaries += 1;
        for part in rest.split(';') {
            let mut words = part.split_whitespace().rev();
            let (Some(what), Some(n)) = (words.next(), words.next()) else { continue };
            let n: u64 = n.parse().unwrap_or(0);
            match what {
                "passed" => self.passed += n,
                "failed" => self.failed += n,
                "ignored" => self.ignored += n,
                _ => {}
            }
        }
    }
}

pub fn run(args: Args) -> Result<()> {
    let sh = xshell::Shell::new()?;
    sh.change_dir(crate::project_root());
    // FST: property-test failures save their waveform as FST, and the bridge tests write both formats.
    tools::ensure(&[&tools::VERILATOR, &tools::FST, &tools::YOSYS])?;
    // Release: the RTL property tests and golden-model runs are compute-bound, and the release
    // artifacts are shared with `cargo xtask`. No fail-fast: one CI run should list every failing
    // binary, not only the first.
    let mut child = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(crate::project_root())
        .args(["test", "--workspace", "--release", "--no-fail-fast", "--color", "never"])
        .args(&args.cargo_args)
        .stdout(Stdio::piped())
        .spawn()?;
    let mut totals = Totals::default();
    for line in BufReader::new(child.stdout.take().expect("piped")).lines() {
        let line = line?;
        println!("{line}");
        totals.add(&line);
    }
    let status = child.wait()?;
    // Which Verilators ran, just above the closing line so that CI's log shows it.
    let second = match sim::other_verilator() {
        None => format!("skipped ({} not set; `cargo xtask tools --verilator-root` installs one)", sim::OTHER_VERILATOR_ENV),
        Some(Ok(v)) => v.describe(),
        Some(Err(e)) => format!("UNUSABLE: {e}"),
    };
    let default = sim::find_verilator().map_or_else(|e| e.to_string(), |v| v.describe());
    println!("\nVerilator: {default}\nsecond Verilator: {second}");
    println!(
        "test summary: {} passed, {} failed, {} ignored in {} test binaries ({})",
        totals.passed,
        totals.failed,
        totals.ignored,
        totals.binaries,
        if status.success() { "ok" } else { "FAILED" }
    );
    if !status.success() {
        bail!("cargo test failed ({status})");
    }
    Ok(())
}
