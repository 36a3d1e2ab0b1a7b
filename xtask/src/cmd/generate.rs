//! `cargo xtask generate`: a model's accelerator RTL (top-level core, simulation wrapper, memory
//! images, manifest) at an explicit or automatic folding.

use anyhow::{Context, Result};
use rtlgen::{self, Folding, Limits};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Model file (default: models/default.qnn.json)
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Explicit folding (JSON: {"in_pixels", "layers": [{"pe","simd"} | null per layer], "fifo_depth"});
    /// without it the folding is chosen to balance layers for --target-ii
    #[arg(long)]
    pub folding: Option<PathBuf>,
    #[command(flatten)]
    pub auto: AutoFolding,
    /// Output directory (default: target/accel/<hash>)
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Knobs of the automatic folding, shared by every command that builds an accelerator.
#[derive(clap::Args, Clone, Debug)]
pub struct AutoFolding {
    /// Target initiation interval in cycles per image (default: the smallest the limits allow)
    #[arg(long)]
    pub target_ii: Option<u64>,
    /// Largest PE (rows in parallel) per layer
    #[arg(long, default_value_t = Limits::default().max_pe)]
    pub max_pe: usize,
    /// Largest SIMD (columns in parallel) per layer
    #[arg(long, default_value_t = Limits::default().max_simd)]
    pub max_simd: usize,
    /// Largest PE x SIMD of one layer
    #[arg(long, default_value_t = Limits::default().max_lanes)]
    pub max_lanes: usize,
    /// Largest number of pixels per input beat
    #[arg(long, default_value_t = Limits::default().max_in_pixels)]
    pub max_in_pixels: usize,
}

impl AutoFolding {
    pub fn folding(&self, model: &golden_model::Model, explicit: Option<&PathBuf>) -> Result<Folding> {
        if let Some(p) = explicit {
            let text = std::fs::read_to_string(p).with_context(|| format!("cannot read folding {}", p.display()))?;
            let f: Folding = serde_json::from_str(&text).with_context(|| format!("{} is not a folding JSON", p.display()))?;
            f.validate(model).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
            return Ok(f);
        }
        Folding::auto(model, self.target_ii, self.limits()?).map_err(anyhow::Error::msg)
    }

    /// The automatic folding's limits, checked.
    pub fn limits(&self) -> Result<Limits> {
        if self.max_pe == 0 || self.max_simd == 0 || self.max_in_pixels == 0 || self.max_lanes == 0 {
            anyhow::bail!("--max-pe, --max-simd, --max-lanes and --max-in-pixels must be at least 1");
        }
        Ok(Limits {
            max_pe: self.max_pe,
            max_simd: self.max_simd,
            max_in_pixels: self.max_in_pixels,
            max_lanes: self.max_lanes,
        })
    }
}

pub fn run(args: Args) -> Result<()> {
    let model = harness::paths::load_model(args.model.as_deref())?;
    let folding = args.auto.folding(&model, args.folding.as_ref())?;
    let acc = match &args.out {
        Some(dir) => rtlgen::generate(&model, &folding, dir)?,
        None => harness::accel::prepare(&model, &folding)?,
    };
    println!("accelerator for `{}` in {}", acc.model_name, acc.dir.display());
    println!("{:<24} {:>6} {:>6} {:>12} {:>8} {:>8} {:>6}", "layer", "PE", "SIMD", "cycles/img", "LUT", "FF", "BRAM18");
    for l in &acc.layers {
        let f = folding.layers[l.layer];
        let (pe, simd) = f.map_or(("-".into(), "-".into()), |f| (f.pe.to_string(), f.simd.to_string()));
        let r = l.resources;
        println!("{:<24} {:>6} {:>6} {:>12} {:>8} {:>8} {:>6}", l.name, pe, simd, l.cycles, r.lut, r.ff, r.bram18);
    }
    println!("input: {} pixel(s)/beat, {} beats/image; estimated II {} cycles", acc.in_pixels, acc.in_beats, acc.ii_estimate);
    println!("(resources are analytical estimates; `cargo xtask synth` measures them with Yosys)");
    Ok(())
}
