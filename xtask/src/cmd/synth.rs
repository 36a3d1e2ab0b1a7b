//! `cargo xtask synth`: Yosys synthesis of a model's accelerator for the ZCU104 (XCZU7EV), with
//! per-layer counts beside the generator's estimates.

use super::generate::AutoFolding;
use anyhow::Result;
use harness::synth;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Model file (default: models/default.qnn.json)
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Explicit folding file (see `cargo xtask generate --help`)
    #[arg(long)]
    pub folding: Option<PathBuf>,
    #[command(flatten)]
    pub auto: AutoFolding,
    /// Also write the synthesis result as JSON
    #[arg(long)]
    pub json: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<()> {
    crate::tools::ensure(&[&crate::tools::YOSYS])?;
    let model = harness::paths::load_model(args.model.as_deref())?;
    let folding = args.auto.folding(&model, args.folding.as_ref())?;
    let acc = harness::accel::prepare(&model, &folding)?;
    let r = synth::synthesize(&acc, &mut |line| eprintln!("{line}"))?;
    println!("{}\n{}", r.tool, r.device);
    println!("{:<20} {:>9} {:>9} {:>7} {:>7} {:>5} {:>7} | {:>9} {:>7}", "layer", "LUT", "FF", "BRAM36", "BRAM18", "DSP", "CARRY", "est. LUT", "est. FF");
    for (m, e) in r.layers.iter().zip(&acc.layers) {
        let c = m.counts;
        println!(
            "{:<20} {:>9} {:>9} {:>7} {:>7} {:>5} {:>7} | {:>9} {:>7}",
            m.name, c.lut, c.ff, c.bram36, c.bram18, c.dsp, c.carry, e.resources.lut, e.resources.ff
        );
    }
    let t = r.total;
    println!("{:<20} {:>9} {:>9} {:>7} {:>7} {:>5} {:>7}", "total", t.lut, t.ff, t.bram36, t.bram18, t.dsp, t.carry);
    let u = &r.utilization_pct;
    println!("utilization of the XCZU7EV: LUT {:.2} %, FF {:.2} %, BRAM {:.2} %, URAM {:.2} %, DSP {:.2} %", u.lut, u.ff, u.bram36, u.uram, u.dsp);
    if let Some(ns) = r.critical_path_estimate_ns {
        println!("critical path (Yosys sta estimate, 7-series delays, not a Vivado figure): {ns:.3} ns");
    }
    if let Some(p) = &args.json {
        golden_model::io::write_atomic(p, serde_json::to_string_pretty(&r)?.as_bytes())?;
    }
    Ok(())
}
