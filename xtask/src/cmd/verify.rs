//! `cargo xtask verify`: every test image through the accelerator's RTL; every label and logit must
//! equal the golden model's. Registers start from random values (`--x-initial unique`, random seed
//! unless given) so a missing reset shows up as a mismatch.

use super::generate::AutoFolding;
use anyhow::{Context, Result, bail};
use golden_model::metrics;
use harness::cosim;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Model file (default: models/default.qnn.json)
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Data root (default: the vendored copy)
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Explicit folding file (see `cargo xtask generate --help`)
    #[arg(long)]
    pub folding: Option<PathBuf>,
    #[command(flatten)]
    pub auto: AutoFolding,
    /// Seed of the random initial register values (default: a fresh random seed, printed)
    #[arg(long)]
    pub seed: Option<u64>,
    /// Simulator instances side by side, each on a share of the images [default: one per core]
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Write the RTL metrics as JSON
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// FINN-style test vectors instead of the test split: NPY tensors (N x C x H x W, NCHW) of integer
    /// pixels, or floats = pixel x the model's input scale (an imported model's provenance has it)
    #[arg(long, value_name = "input.npy")]
    pub inputs: Option<PathBuf>,
    /// Expected labels for --inputs: NPY of N labels, or N x classes logits (argmax)
    #[arg(long, value_name = "expected_output.npy", requires = "inputs")]
    pub expected: Option<PathBuf>,
}

fn random_seed() -> u64 {
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    (t as u64 ^ (std::process::id() as u64).rotate_left(32)) % 1_000_000_007
}

pub fn run(args: Args) -> Result<()> {
    crate::tools::ensure(&[&crate::tools::VERILATOR])?;
    let model = harness::paths::load_model(args.model.as_deref())?;
    let folding = args.auto.folding(&model, args.folding.as_ref())?;
    if let Some(inputs) = &args.inputs {
        return verify_vectors(&args, &model, &folding, inputs);
    }
    let root = args.data.clone().unwrap_or_else(dataset::default_root);
    let test = dataset::Dataset::load(&root, dataset::Split::Test, model.input_shape().height)
        .with_context(|| format!("loading the test split from {}", root.display()))?;
    let acc = harness::accel::prepare(&model, &folding)?;
    let lib = cosim::library(&acc, cosim::BuildMode::VERIFY)?;
    let seed = args.seed.unwrap_or_else(random_seed);
    let jobs = args.jobs.unwrap_or_else(harness::verify::default_jobs);
    if jobs == 0 {
        bail!("--jobs 0: give at least 1 simulator instance");
    }
    println!(
        "verify `{}` on {} test images; {}; x-initial unique, seed {seed}; {jobs} simulator instance(s)",
        model.name(),
        test.samples.len(),
        lib.verilator().describe()
    );
    let ev = harness::verify::evaluate_rtl(&acc, &lib, &model, &test.samples, seed, jobs)?;
    let labels: Vec<u8> = test.samples.iter().map(|s| s.label).collect();
    let predicted: Vec<u8> = ev.golden.iter().map(|g| g.label as u8).collect();
    let scores: Vec<i64> = ev.golden.iter().map(|g| g.score()).collect();
    let gm = metrics::binary_metrics(&labels, &predicted, &scores)?;
    let hw = &ev.metrics;
    println!(
        "simulated {} cycles ({:.0} per image) in {:.2} s wall ({:.2} Mcycles/s over {jobs} instance(s)), golden model included",
        ev.cycles,
        ev.cycles as f64 / ev.images.len() as f64,
        ev.seconds,
        ev.cycles as f64 / ev.seconds / 1e6
    );
    println!("hardware (RTL) metrics:\n{hw}");
    println!("golden accuracy {:.4}, RTL accuracy {:.4}", gm.accuracy, hw.accuracy);
    if let Some(p) = &args.json {
        let doc = serde_json::json!({ "model": model.name(), "model_hash": model.content_hash(), "seed": seed,
            "mismatches": ev.mismatches.len(), "rtl": hw, "golden": gm });
        golden_model::io::write_atomic(p, serde_json::to_string_pretty(&doc)?.as_bytes())?;
    }
    if !ev.mismatches.is_empty() {
        for m in ev.mismatches.iter().take(20) {
            println!("MISMATCH {m}");
        }
        bail!("{} of {} images differ between RTL and golden model (seed {seed})", ev.mismatches.len(), ev.images.len());
    }
    println!("0 mismatches: every label and logit of {} images equals the golden model", ev.images.len());
    Ok(())
}

/// `--inputs`: the vectors through the RTL in one simulator instance; every label and logit must
/// equal the golden model, and the labels the expected ones when given.
fn verify_vectors(args: &Args, model: &golden_model::Model, folding: &rtlgen::Folding, inputs: &std::path::Path) -> Result<()> {
    let x = qonnx::npy::Npy::read(inputs).map_err(anyhow::Error::msg)?;
    let scale = model.provenance.extra.get("input_scale").and_then(|v| v.as_f64()).unwrap_or(1.0);
    let images = qonnx::vectors::images(&x, model.input_shape(), scale).map_err(|e| anyhow::anyhow!("{}: {e}", inputs.display()))?;
    let n = images.len();
    if n == 0 {
        bail!("{}: no inputs", inputs.display());
    }
    let expected = match &args.expected {
        Some(p) => {
            let e = qonnx::npy::Npy::read(p).map_err(anyhow::Error::msg)?;
            Some(qonnx::vectors::labels(&e, n, model.classes().len()).map_err(|m| anyhow::anyhow!("{}: {m}", p.display()))?)
        }
        None => None,
    };
    let acc = harness::accel::prepare(model, folding)?;
    let lib = cosim::library(&acc, cosim::BuildMode::VERIFY)?;
    let seed = args.seed.unwrap_or_else(random_seed);
    println!("verify `{}` on {n} inputs from {}; {}; x-initial unique, seed {seed}", model.name(), inputs.display(), lib.verilator().describe());
    let refs: Vec<&[u8]> = images.iter().map(|v| v.as_slice()).collect();
    let mut sim = cosim::new_sim(&lib, &acc, seed, None)?;
    let rtl = cosim::run_images(&mut sim, &acc, &refs, &sim::Stalls::none(), harness::verify::WATCHDOG)?;
    sim.close()?;
    let golden = model.infer_batch(&refs).map_err(|(i, e)| anyhow::anyhow!("input {i}: {e}"))?;
    let mut rtl_mismatch = 0;
    for (i, (r, g)) in rtl.iter().zip(&golden).enumerate() {
        if r.label != g.label || r.logits != g.logits {
            rtl_mismatch += 1;
            if rtl_mismatch <= 20 {
                println!("MISMATCH input {i}: RTL label {} logits {:?}, golden label {} logits {:?}", r.label, r.logits, g.label, g.logits);
            }
        }
    }
    let mut label_mismatch = 0;
    if let Some(e) = &expected {
        for (i, (g, &want)) in golden.iter().zip(e).enumerate() {
            if g.label != want {
                label_mismatch += 1;
                if label_mismatch <= 20 {
                    println!("EXPECTED input {i}: label {want}, golden model and RTL give {}", g.label);
                }
            }
        }
        println!("labels: {} of {n} equal the expected outputs", n - label_mismatch);
    }
    if let Some(p) = &args.json {
        let doc = serde_json::json!({ "model": model.name(), "model_hash": model.content_hash(), "seed": seed, "inputs": n,
            "rtl_mismatches": rtl_mismatch, "expected_mismatches": expected.as_ref().map(|_| label_mismatch) });
        golden_model::io::write_atomic(p, serde_json::to_string_pretty(&doc)?.as_bytes())?;
    }
    if rtl_mismatch > 0 {
        bail!("{rtl_mismatch} of {n} inputs differ between RTL and golden model (seed {seed})");
    }
    println!("0 mismatches: every label and logit of {n} inputs equals the golden model");
    if label_mismatch > 0 {
        bail!("{label_mismatch} of {n} labels differ from the expected outputs");
    }
    Ok(())
}
