//! `cargo xtask generate`: a model's accelerator RTL (top-level core, simulation wrapper, memory
//! images, manifest) at an explicit or automatic folding.

use anyhow::Result;
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
    /// Target initiation interval in cycles per image [default: the input at one pixel per beat,
    /// or the fastest design within the budget]
    #[arg(long, value_name = "CYCLES", conflicts_with = "target_fps")]
    pub target_ii: Option<u64>,
    /// Target throughput in images per second at --clock-mhz (as FINN's target_fps)
    #[arg(long, value_name = "FPS")]
    pub target_fps: Option<f64>,
    /// Clock for --target-fps and for latency in µs and images/s [default: 200; gate: the baseline's]
    #[arg(long, value_name = "MHZ")]
    pub clock_mhz: Option<f64>,
    /// Largest PE (rows in parallel) per layer
    #[arg(long, default_value_t = Limits::default().max_pe)]
    pub max_pe: usize,
    /// Largest SIMD (columns in parallel) per layer
    #[arg(long, default_value_t = Limits::default().max_simd)]
    pub max_simd: usize,
    /// Largest PE x SIMD x MMV of a layer with multi-bit operands (XNOR-popcount layers are not limited)
    #[arg(long, default_value_t = Limits::default().max_lanes)]
    pub max_lanes: usize,
    /// Largest number of windows a convolution takes per beat
    #[arg(long, default_value_t = Limits::default().max_mmv)]
    pub max_mmv: usize,
    /// Largest number of pixels per input beat
    #[arg(long, default_value_t = Limits::default().max_in_pixels)]
    pub max_in_pixels: usize,
    /// Largest estimated share of the XCZU7EV's LUTs, in percent
    #[arg(long, value_name = "PCT", default_value_t = Limits::default().max_lut_pct)]
    pub max_lut_pct: f64,
    /// Largest estimated share of its DSP slices, in percent
    #[arg(long, value_name = "PCT", default_value_t = Limits::default().max_dsp_pct)]
    pub max_dsp_pct: f64,
    /// Largest estimated share of its block RAM, in percent
    #[arg(long, value_name = "PCT", default_value_t = Limits::default().max_bram_pct)]
    pub max_bram_pct: f64,
}

pub const DEFAULT_CLOCK_MHZ: f64 = 200.0;

impl AutoFolding {
    /// An explicit folding file, or the automatic folding with FIFO depths sized by simulation.
    pub fn folding(&self, model: &golden_model::Model, explicit: Option<&PathBuf>) -> Result<Folding> {
        let mut progress = super::report::progress_printer();
        harness::accel::folding(model, explicit.map(|p| p.as_path()), self.target_ii()?, self.limits()?, &mut progress)
    }

    /// The clock, checked.
    pub fn clock(&self) -> Result<f64> {
        let mhz = self.clock_mhz.unwrap_or(DEFAULT_CLOCK_MHZ);
        if !(mhz.is_finite() && mhz > 0.0) {
            anyhow::bail!("--clock-mhz {mhz}: the clock must be a positive number of MHz");
        }
        Ok(mhz)
    }

    /// --target-ii, or --target-fps at the clock as cycles per image.
    pub fn target_ii(&self) -> Result<Option<u64>> {
        if self.target_ii == Some(0) {
            anyhow::bail!("--target-ii 0: give at least 1 cycle per image");
        }
        match self.target_fps {
            Some(fps) => Ok(Some(rtlgen::folding::ii_for_fps(fps, self.clock()?).map_err(|e| anyhow::anyhow!("--target-fps: {e}"))?)),
            None => Ok(self.target_ii),
        }
    }

    /// The automatic folding's limits, checked.
    pub fn limits(&self) -> Result<Limits> {
        if self.max_pe == 0 || self.max_simd == 0 || self.max_in_pixels == 0 || self.max_lanes == 0 || self.max_mmv == 0 {
            anyhow::bail!("--max-pe, --max-simd, --max-lanes, --max-mmv and --max-in-pixels must be at least 1");
        }
        for (flag, v) in [("--max-lut-pct", self.max_lut_pct), ("--max-dsp-pct", self.max_dsp_pct), ("--max-bram-pct", self.max_bram_pct)] {
            if !(v.is_finite() && v > 0.0) {
                anyhow::bail!("{flag} {v}: give a positive percentage of the device");
            }
        }
        Ok(Limits {
            max_pe: self.max_pe,
            max_simd: self.max_simd,
            max_in_pixels: self.max_in_pixels,
            max_lanes: self.max_lanes,
            max_mmv: self.max_mmv,
            max_lut_pct: self.max_lut_pct,
            max_dsp_pct: self.max_dsp_pct,
            max_bram_pct: self.max_bram_pct,
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
    println!(
        "{:<24} {:>5} {:>5} {:>4} {:>12} {:>8} {:>8} {:>6} {:>5}",
        "layer", "PE", "SIMD", "MMV", "cycles/img", "LUT", "FF", "BRAM18", "DSP"
    );
    let mut total = rtlgen::Resources::default();
    for l in &acc.layers {
        let f = folding.layers[l.layer];
        let (pe, simd, mmv) = f.map_or(("-".into(), "-".into(), "-".into()), |f| (f.pe.to_string(), f.simd.to_string(), f.mmv.to_string()));
        let r = l.resources;
        total += r;
        println!(
            "{:<24} {:>5} {:>5} {:>4} {:>12} {:>8} {:>8} {:>6} {:>5}",
            l.name, pe, simd, mmv, l.cycles, r.lut, r.ff, r.bram18, r.dsp
        );
    }
    let d = rtlgen::Device::XCZU7EV;
    println!(
        "total: {} LUT ({:.1} % of the {}), {} FF, {} BRAM18, {} DSP",
        total.lut,
        d.lut_pct(&total),
        d.name,
        total.ff,
        total.bram18,
        total.dsp
    );
    let clock = args.auto.clock()?;
    println!(
        "input: {} pixel(s)/beat, {} beats/image; estimated II {} cycles ({:.0} images/s at {clock} MHz), latency {} cycles",
        acc.in_pixels,
        acc.in_beats,
        acc.ii_estimate,
        clock * 1e6 / acc.ii_estimate as f64,
        acc.latency_estimate
    );
    println!("(resources are analytical estimates; `cargo xtask synth` measures them with Yosys)");
    Ok(())
}
