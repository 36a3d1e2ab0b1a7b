//! `cargo xtask sim`: test images through the accelerator's RTL (Verilator) beside the golden model.

use super::generate::AutoFolding;
use anyhow::{Context, Result, bail};
use harness::cosim;
use std::path::PathBuf;
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// Model file (default: models/default.qnn.json)
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Number of test images to run (from the start of the official test split)
    #[arg(long, default_value_t = 8)]
    pub images: usize,
    /// Write a waveform of the run to this file: FILE.fst (compressed) or FILE.vcd; open it in
    /// GTKWave (`gtkwave FILE`) or Surfer (`surfer FILE`)
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    /// Data root (default: the vendored copy)
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Explicit folding file (see `cargo xtask generate --help`)
    #[arg(long)]
    pub folding: Option<PathBuf>,
    #[command(flatten)]
    pub auto: AutoFolding,
    /// Input-valid stall pattern, e.g. 1101 (repeats; 1 = a beat may be offered)
    #[arg(long)]
    pub in_valid: Option<String>,
    /// Output-ready pattern, e.g. 10 (repeats; 1 = ready)
    #[arg(long)]
    pub out_ready: Option<String>,
    /// Simulation seed
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Cycles without progress before the watchdog stops the run
    #[arg(long, default_value_t = 1_000_000)]
    pub watchdog: u64,
}

pub fn pattern(s: &Option<String>, what: &str) -> Result<sim::Pattern> {
    match s {
        None => Ok(sim::Pattern::Always),
        Some(s) => match sim::Pattern::parse(s) {
            Some(p) if s.contains('1') => Ok(p),
            _ => bail!("--{what} `{s}`: use a string of 0 and 1 with at least one 1, e.g. 1101"),
        },
    }
}

pub fn run(args: Args) -> Result<()> {
    let trace = args.trace.as_deref().map(sim::TraceFormat::from_path).transpose().map_err(anyhow::Error::msg)?;
    crate::tools::ensure(&crate::tools::for_trace(args.trace.as_deref()))?;
    let model = harness::paths::load_model(args.model.as_deref())?;
    let folding = args.auto.folding(&model, args.folding.as_ref())?;
    let stalls = sim::Stalls { in_valid: pattern(&args.in_valid, "in-valid")?, out_ready: pattern(&args.out_ready, "out-ready")? };
    let root = args.data.clone().unwrap_or_else(dataset::default_root);
    let size = model.input_shape().height;
    let test = dataset::Dataset::load(&root, dataset::Split::Test, size)
        .with_context(|| format!("loading the test split from {}", root.display()))?;
    let n = args.images.min(test.samples.len());
    let samples = &test.samples[..n];
    let acc = harness::accel::prepare(&model, &folding)?;
    eprintln!("accelerator: {} (estimated II {} cycles)", acc.dir.display(), acc.ii_estimate);
    let mode = cosim::BuildMode { trace, x_unique: false };
    let lib = cosim::library(&acc, mode)?;
    eprintln!("simulator: {}", lib.verilator().describe());
    let mut sim = cosim::new_sim(&lib, &acc, args.seed, args.trace.clone())?;
    let images: Vec<&[u8]> = samples.iter().map(|s| s.pixels.as_slice()).collect();
    let started = Instant::now();
    let start_cycle = sim.cycle();
    let rtl = cosim::run_images(&mut sim, &acc, &images, &stalls, args.watchdog)?;
    let cycles = sim.cycle() - start_cycle;
    let secs = started.elapsed().as_secs_f64();
    sim.close()?;
    println!("{:>5}  {:<44} {:>5} {:>6}  {:>12} {:>12}  match", "image", "file", "rtl", "golden", "latency", "out cycle");
    let mut mismatches = 0;
    for (i, (s, r)) in samples.iter().zip(&rtl).enumerate() {
        let g = model.infer(&s.pixels)?;
        let ok = g.label == r.label && g.logits == r.logits;
        mismatches += !ok as usize;
        println!(
            "{i:>5}  {:<44} {:>5} {:>6}  {:>12} {:>12}  {}",
            s.path.display(),
            r.label,
            g.label,
            r.latency(),
            r.output_cycle,
            if ok { "ok".to_string() } else { format!("MISMATCH logits rtl {:?} golden {:?}", r.logits, g.logits) }
        );
    }
    let steady: Vec<u64> = rtl.windows(2).map(|w| w[1].output_cycle - w[0].output_cycle).collect();
    if let Some(ii) = steady.last() {
        println!("II (last two images): {ii} cycles; estimate {}", acc.ii_estimate);
    }
    println!("{n} images, {cycles} cycles in {secs:.2} s ({:.2} Mcycles/s), {mismatches} mismatches", cycles as f64 / secs / 1e6);
    if let Some(t) = &args.trace {
        println!("waveform: {}", t.display());
    }
    if mismatches > 0 {
        bail!("{mismatches} of {n} images differ between RTL and golden model");
    }
    Ok(())
}
