//! Co-simulation of a generated accelerator: building its Verilator library, encoding images and
//! activations into AXI-Stream beats, decoding labels and logits, timing images, and comparing
//! everything with the golden model.

use rtlgen::{Accelerator, LayerTop, ProbeKind, SIM_TOP};
use anyhow::{Context, Result};
use golden_model::ops::{FeatureMap, OutputStage};
use golden_model::{ActType, Model, Op};
use sim::{BuildSpec, Library, Limits, Probe, Sim, SimOptions, Stalls, TraceFormat, XInitial};

/// How to build a simulation library.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BuildMode {
    /// Waveform format the library can write (`None`: untraced, fastest).
    pub trace: Option<TraceFormat>,
    /// `--x-initial unique`: registers start random (seeded per run) to expose missing resets.
    pub x_unique: bool,
}

impl BuildMode {
    pub const FAST: BuildMode = BuildMode { trace: None, x_unique: false };
    pub const VERIFY: BuildMode = BuildMode { trace: None, x_unique: true };
}

fn spec(top: &str, extra: Vec<std::path::PathBuf>, mode: BuildMode) -> BuildSpec {
    let mut sources = rtlgen::rtl_sources();
    sources.extend(extra);
    BuildSpec::new(top, sources)
        .trace_format(mode.trace)
        .x_initial(if mode.x_unique { XInitial::Unique } else { XInitial::Fast })
}

/// What to verilate for the whole accelerator with its probe wrapper.
pub fn library_spec(acc: &Accelerator, mode: BuildMode) -> BuildSpec {
    spec(SIM_TOP, vec![acc.core_file(), acc.sim_top_file()], mode)
}

/// The whole accelerator with its probe wrapper.
pub fn library(acc: &Accelerator, mode: BuildMode) -> Result<Library> {
    let s = library_spec(acc, mode);
    sim::build(&s).with_context(|| format!("building the simulator of {}", acc.dir.display()))
}

/// One layer's stages alone.
pub fn layer_library(acc: &Accelerator, t: &LayerTop, mode: BuildMode) -> Result<Library> {
    let s = spec(&t.module, vec![acc.layer_file(t)], mode);
    sim::build(&s).with_context(|| format!("building the simulator of layer {}", t.name))
}

/// Probe names for the watchdog, FIFO occupancies in pipeline order.
pub fn probes(acc: &Accelerator) -> Vec<Probe> {
    sim_probes(&acc.probes)
}

/// The generator's probes as the simulator's watchdog reads them.
pub fn sim_probes(probes: &[rtlgen::Probe]) -> Vec<Probe> {
    probes
        .iter()
        .map(|p| match p.kind {
            ProbeKind::Beats | ProbeKind::Peak => Probe::counter(&p.name),
            ProbeKind::Occupancy => Probe::occupancy(&p.name),
        })
        .collect()
}

pub fn new_sim(lib: &Library, acc: &Accelerator, seed: u64, trace: Option<std::path::PathBuf>) -> Result<Sim> {
    let opts = SimOptions { seed, trace, probes: probes(acc), ..SimOptions::default() };
    Ok(Sim::new(lib, opts)?)
}

/// Packs `ebits`-bit elements, `fold` per beat, into 32-bit words (element 0 in the LSBs).
pub fn pack(elements: &[u32], ebits: usize, fold: usize) -> Vec<u32> {
    let words_per_beat = (fold * ebits).div_ceil(32);
    let beats = elements.len().div_ceil(fold);
    let mut out = vec![0u32; beats * words_per_beat];
    for (i, &e) in elements.iter().enumerate() {
        let (beat, slot) = (i / fold, i % fold);
        let base = beat * words_per_beat * 32 + slot * ebits;
        for b in 0..ebits {
            if (e >> b) & 1 == 1 {
                let bit = base + b;
                out[bit / 32] |= 1 << (bit % 32);
            }
        }
    }
    out
}

/// Bits `[lo, lo + n)` of a beat (n <= 64).
pub fn bits(beat: &[u32], lo: usize, n: usize) -> u64 {
    let mut v = 0u64;
    for b in 0..n {
        let bit = lo + b;
        if (beat[bit / 32] >> (bit % 32)) & 1 == 1 {
            v |= 1 << b;
        }
    }
    v
}

/// Unpacks `fold` elements of `ebits` bits from each beat.
pub fn unpack(beats: &sim::Beats, ebits: usize, fold: usize) -> Vec<u32> {
    beats.iter().flat_map(|b| (0..fold).map(move |s| bits(b, s * ebits, ebits) as u32)).collect()
}

/// The accelerator's input beats for one image (pixels in HWC order).
pub fn image_beats(acc: &Accelerator, pixels: &[u8]) -> Vec<u32> {
    let e: Vec<u32> = pixels.iter().map(|&p| p as u32).collect();
    pack(&e, 8, acc.in_pixels)
}

/// Label and logits of an output beat: `[7:0]` label, `[8 + 32 i +: 32]` logit `i`.
pub fn decode_output(beat: &[u32], classes: usize) -> (usize, Vec<i32>) {
    let label = bits(beat, 0, 8) as usize;
    let logits = (0..classes).map(|i| bits(beat, 8 + 32 * i, 32) as u32 as i32).collect();
    (label, logits)
}

/// What the RTL produced for one image, and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RtlImage {
    pub label: usize,
    pub logits: Vec<i32>,
    /// Cycle of the image's first accepted input beat.
    pub first_input_cycle: u64,
    /// Cycle of its output beat.
    pub output_cycle: u64,
}

impl RtlImage {
    pub fn latency(&self) -> u64 {
        self.output_cycle - self.first_input_cycle
    }
}

/// Streams `images` back to back (one run, pipelined) and returns one result per image.
pub fn run_images(sim: &mut Sim, acc: &Accelerator, images: &[&[u8]], stalls: &Stalls, watchdog: u64) -> Result<Vec<RtlImage>> {
    let mut words = Vec::with_capacity(images.len() * acc.in_beats as usize);
    for img in images {
        words.extend(image_beats(acc, img));
    }
    let limits = Limits { watchdog, ..Limits::default() };
    let out = sim.run(&words, images.len(), stalls, &limits)?;
    let per = acc.in_beats as usize;
    Ok(out
        .outputs
        .iter()
        .enumerate()
        .map(|(i, beat)| {
            let (label, logits) = decode_output(beat, acc.num_classes);
            RtlImage { label, logits, first_input_cycle: out.input_cycles[i * per], output_cycle: out.output_cycles[i] }
        })
        .collect())
}

/// Output type of model layer `i` (`None` for the logit layer).
pub fn layer_out_type(model: &Model, i: usize) -> Option<ActType> {
    match &model.layers()[i].op {
        Op::InputQuant(q) => Some(q.out_type()),
        Op::Conv(c) => c.matvec().out_type(),
        Op::Dense(d) => match d.matvec().output() {
            OutputStage::Threshold(t) => Some(t.out_type()),
            OutputStage::Bias(_) => None,
        },
        Op::MaxPool => layer_out_type(model, i - 1),
    }
}

/// Encoded stream elements of a golden feature map of type `t` (`None`: pixels).
pub fn encode_map(x: &FeatureMap, t: Option<ActType>) -> Vec<u32> {
    x.iter().map(|&v| t.map_or(v as u32, |t| t.encode(v))).collect()
}

/// Layer `t.layer` alone: feeds the golden input of each image, returns the encoded output
/// elements per image and the cycles between the last output beats of consecutive images.
pub struct LayerRun {
    pub outputs: Vec<Vec<u32>>,
    pub expected: Vec<Vec<u32>>,
    /// Steady-state cycles per image (last output beat to last output beat), when >= 2 images.
    pub cycles_per_image: Option<u64>,
}

pub fn run_layer(acc: &Accelerator, model: &Model, t: &LayerTop, lib: &Library, images: &[&[u8]], seed: u64) -> Result<LayerRun> {
    let i = t.layer;
    let mut inputs = vec![];
    let mut expected = vec![];
    for img in images {
        let trace = model.trace(img)?;
        let input = if i == 0 {
            img.iter().map(|&p| p as u32).collect()
        } else {
            encode_map(&trace[i - 1], layer_out_type(model, i - 1))
        };
        inputs.extend(pack(&input, t.in_ebits, t.in_width / t.in_ebits));
        expected.push(if i + 1 == model.layers().len() {
            let logits: Vec<i32> = trace[i].iter().copied().collect();
            let label = golden_model::argmax(&logits) as u32;
            std::iter::once(label).chain(logits.iter().map(|&l| l as u32)).collect()
        } else {
            encode_map(&trace[i], layer_out_type(model, i))
        });
    }
    let mut sim = Sim::new(lib, SimOptions { seed, ..SimOptions::default() })?;
    let n_out = t.out_beats as usize * images.len();
    let out = sim.run(&inputs, n_out, &Stalls::none(), &Limits::default())?;
    let per = t.out_beats as usize;
    let outputs = if i + 1 == model.layers().len() {
        out.outputs
            .iter()
            .map(|b| {
                let (label, logits) = decode_output(b, acc.num_classes);
                std::iter::once(label as u32).chain(logits.iter().map(|&l| l as u32)).collect()
            })
            .collect()
    } else {
        let fold = t.out_width / t.out_ebits;
        let flat = unpack(&out.outputs, t.out_ebits, fold);
        flat.chunks(per * fold).map(|c| c.to_vec()).collect()
    };
    let last: Vec<u64> = (1..=images.len()).map(|k| out.output_cycles[k * per - 1]).collect();
    let cycles_per_image = (last.len() >= 2).then(|| last[last.len() - 1] - last[last.len() - 2]);
    Ok(LayerRun { outputs, expected, cycles_per_image })
}
