//! Analytical resource and cycle estimates per stage and per layer, from the same folding the RTL is
//! generated with, so reports can put estimate and measurement side by side and the automatic
//! folding can pick the cheapest design. The model is deliberately simple (in the spirit of FINN's
//! analytical estimates), its coefficients fitted to Yosys `synth_xilinx -family xcup -abc9` on the
//! generated stages, and labelled as an estimate.

use super::folding::{self, LayerFold, MatShape, Window};
use super::plan::{Kind, Plan, Stage};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Resources {
    pub lut: u64,
    pub ff: u64,
    pub bram18: u64,
    pub dsp: u64,
}

impl std::ops::AddAssign for Resources {
    fn add_assign(&mut self, o: Resources) {
        self.lut += o.lut;
        self.ff += o.ff;
        self.bram18 += o.bram18;
        self.dsp += o.dsp;
    }
}

impl Resources {
    /// One number to minimise when choosing a folding: LUTs, with a flop, a block RAM and a DSP
    /// slice weighted by how scarce each is on the device next to LUTs.
    pub fn cost(&self) -> f64 {
        let d = Device::XCZU7EV;
        self.lut as f64
            + self.ff as f64 * d.lut / d.ff
            + self.bram18 as f64 * d.lut / (2.0 * d.bram36)
            + self.dsp as f64 * d.lut / d.dsp
    }
}

/// Capacity of the target device.
#[derive(Clone, Copy, Debug)]
pub struct Device {
    pub name: &'static str,
    pub lut: f64,
    pub ff: f64,
    pub bram36: f64,
    pub uram: f64,
    pub dsp: f64,
}

impl Device {
    pub const XCZU7EV: Device =
        Device { name: "XCZU7EV (ZCU104)", lut: 230_400.0, ff: 460_800.0, bram36: 312.0, uram: 96.0, dsp: 1_728.0 };

    pub fn lut_pct(&self, r: &Resources) -> f64 {
        r.lut as f64 / self.lut * 100.0
    }
    pub fn dsp_pct(&self, r: &Resources) -> f64 {
        r.dsp as f64 / self.dsp * 100.0
    }
    pub fn bram_pct(&self, r: &Resources) -> f64 {
        r.bram18 as f64 / (2.0 * self.bram36) * 100.0
    }
}

/// LUT6s holding `bits` of distributed ROM/RAM (64x1 each).
fn lutram(bits: u64) -> u64 {
    bits.div_ceil(64)
}

/// RAMB18s for a `width x depth` memory (512 x 36 in simple dual-port mode, 1024 x 18, ...).
fn bram18(width: u64, depth: u64) -> u64 {
    let (w, d) = if depth <= 512 { (36, 512) } else if depth <= 1024 { (18, 1024) } else { (9, 2048) };
    width.div_ceil(w) * depth.div_ceil(d)
}

/// Bits of `n`-way counts: ceil(log2(n + 1)).
fn count_bits(n: u64) -> u64 {
    64 - n.leading_zeros() as u64
}

/// The matrix-vector unit's parameters, as the plan writes them.
#[derive(Clone, Copy, Debug)]
pub struct MvtuParams {
    pub mw: u64,
    pub mh: u64,
    pub pe: u64,
    pub simd: u64,
    pub mmv: u64,
    pub wbits: u64,
    pub abits: u64,
    pub obits: u64,
    pub acc_bits: u64,
    pub use_bram: bool,
    /// Searched threshold stages of 256 words or more in block RAM (`THRESH_BRAM`).
    pub thresh_bram: bool,
}

/// LUTs worth one RAMB18: its share of the device's block RAM in LUTs.
fn bram18_in_luts() -> f64 {
    let d = Device::XCZU7EV;
    d.lut / (2.0 * d.bram36)
}

/// LUTs of a `width x depth` ROM of constants in LUTs once it is deeper than a LUT6 folds: Yosys
/// 0.23 spends about 4.5 LUTs per 64 bits (the LUT6s plus their read multiplexers; 4.9 and 4.1
/// on the default CNV's conv4 and fc1 weight ROMs, 110 and 131 kbit).
fn rom_luts(width: u64, depth: u64) -> f64 {
    4.5 * (width * depth) as f64 / 64.0
}

/// Whether a ROM of `width x depth` bits goes to block RAM: when its RAMB18s are a smaller share
/// of the device than the LUTs it would take. Wide, shallow ROMs fill block RAM badly (a RAMB18 is
/// at most 36 bits wide), so they stay in LUTs; deep ones go to block RAM.
pub fn rom_in_bram(width: u64, depth: u64) -> bool {
    depth >= 32 && (bram18(width, depth) as f64) * bram18_in_luts() < rom_luts(width, depth)
}

/// Whether the plan puts a layer's weight memory in block RAM.
pub fn weights_in_bram(s: MatShape, f: LayerFold) -> bool {
    let width = (f.pe * f.simd * s.wbits) as u64;
    let depth = ((s.rows / f.pe) * (s.cols / f.simd)) as u64;
    rom_in_bram(width, depth)
}

/// Whether the deepest stage ROM of a layer's searched thresholds (`MH/PE` sets of `obits`-bit
/// outputs) goes to block RAM; `threshold_search` then puts every stage ROM of 256 words or more
/// there.
pub fn thresholds_in_bram(s: MatShape, f: LayerFold) -> bool {
    let nf = (s.rows / f.pe) as u64;
    s.obits > 0 && rom_in_bram(s.acc_bits as u64, nf << (s.obits - 1))
}

/// LUTs per weight bit and lane of an XNOR-popcount layer, by where its weights live: the
/// popcount (about 1.3-1.6 LUT per bit in Yosys, more for wide SIMD) and the XNOR, plus for a LUT
/// ROM the ROM bits themselves (free for one word: constants fold into the XNOR; growing with the
/// address bits otherwise). Fitted to Yosys 0.23 on the default CNV's layers at five foldings.
fn xnor_lut_per_bit(depth: u64, simd: u64, bram: bool) -> f64 {
    let wide = 0.003 * simd as f64;
    if bram {
        2.2 + wide
    } else if depth <= 1 {
        1.2 + wide
    } else {
        0.9 + 0.5 * (depth as f64).log2() + wide
    }
}

pub fn mvtu(m: MvtuParams) -> Resources {
    let MvtuParams { mw, mh, pe, simd, mmv, wbits: w, abits: a, obits: o, acc_bits: acc, use_bram, thresh_bram } = m;
    let (nf, sf) = (mh / pe, mw / simd);
    let depth = nf * sf;
    let lanes = pe * mmv;
    let nt = if o == 0 { 0 } else { (1u64 << o) - 1 };
    let search = super::mem::searched(o as usize);
    let log_depth = (depth.max(1) as f64).log2();
    // synth_xilinx maps a multiplier of two operands of 9 bits or more together (ours are
    // sign-extended to W + A bits) to one DSP48E2, which then costs no LUTs.
    let dsp_products = w > 2 && a > 2 && w + a >= 9;
    // The dot products (products or XNORs, ROM and adder tree) of all lanes.
    // A deep LUT ROM costs its storage, more than the per-bit fit (made on shallow ones) says.
    let lut_rom = !use_bram && depth > 1;
    let storage = if lut_rom { rom_luts(pe * simd * w, depth) } else { 0.0 };
    let dot = if w == 1 && a == 1 {
        let fit = (lanes * simd) as f64 * xnor_lut_per_bit(depth, simd, use_bram);
        let stored = (lanes * simd) as f64 * xnor_lut_per_bit(1, simd, false) + storage;
        fit.max(stored)
    } else if w == 1 {
        // Masked sums: PE rows plus the shared sum of all activations, per vector.
        let per_bit = if depth <= 1 { 0.45 } else { 0.45 + 0.65 * log_depth };
        let bits = ((pe + 1) * mmv * simd * a) as f64;
        (bits * per_bit).max(bits * 0.45 + storage)
    } else {
        let prod_bits = if a == 1 { w + 2 } else { w + a };
        // A bipolar activation is a conditional negate (one LUT per product bit); a 2-bit operand
        // two partial products; otherwise a LUT multiplier of about (W*A)/2 LUTs. The weight ROM
        // adds its bits as for XNOR layers.
        let product = if a == 1 {
            prod_bits
        } else if w == 2 || a == 2 {
            2 * prod_bits
        } else if dsp_products {
            0
        } else {
            w * a / 2 + prod_bits
        };
        let rom = if lut_rom { ((pe * simd * w) as f64 * 0.5 * log_depth).max(storage) } else { 0.0 };
        (lanes * (simd * product + simd.saturating_sub(1) * (prod_bits + count_bits(simd)))) as f64 + rom
    };
    // Per lane: accumulator, then the bias adder, the comparators of a threshold set (or one
    // per output bit when searched) and their ROM when there is more than one set.
    let compare = if o == 0 {
        acc
    } else if search {
        o * acc.div_ceil(2)
    } else {
        nt * acc.div_ceil(2)
    };
    // Threshold ROMs, per PE row: all sets in LUTs (one LUT per bit per 64 sets) when compared at
    // once; searched ones in one ROM per stage, block RAM from 256 words on.
    let (thr_lut, thr_bram) = if o == 0 || (!search && nf <= 1) {
        (0, 0)
    } else if search {
        let (mut lut, mut bram) = (0, 0);
        for s in 0..o {
            let d = nf << s;
            if thresh_bram && d >= 256 {
                bram += bram18(acc, d);
            } else if d > 1 {
                lut += rom_luts(acc, d).max((acc * d.div_ceil(64)) as f64).round() as u64;
            }
        }
        (pe * lut, pe * bram)
    } else {
        (pe * nt * acc * nf.div_ceil(64), 0)
    };
    let per_lane = acc + compare;
    let width = pe * simd * w;
    let weight_bram = if use_bram { bram18(width, depth) } else { 0 };
    let input_buffer = if nf > 1 { lutram(mw * a * mmv) } else { 0 };
    let out_bits = lanes * if o == 0 { acc } else { o };
    let groups = simd.div_ceil(if w == 1 && a == 1 { 64 } else { 4 });
    // A LUT ROM deeper than a few words keeps its read register on the data side.
    let rom_ff = if !use_bram && depth >= 16 { width } else { 0 };
    Resources {
        lut: 60 + dot.round() as u64 + lanes * per_lane + thr_lut + input_buffer,
        ff: lanes * (groups + 2) * acc + 2 * out_bits + 2 * simd * a * mmv + rom_ff + if search { lanes * o * (acc + o) } else { 0 } + 32,
        bram18: weight_bram + thr_bram,
        dsp: if dsp_products { lanes * simd } else { 0 },
    }
}

/// Resources of one layer's matrix-vector unit and sliding window at a folding (no converters or
/// FIFOs): what the automatic folding compares.
pub fn layer_cost(s: MatShape, f: LayerFold) -> Resources {
    let mut r = mvtu(MvtuParams {
        mw: s.cols as u64,
        mh: s.rows as u64,
        pe: f.pe as u64,
        simd: f.simd as u64,
        mmv: f.mmv as u64,
        wbits: s.wbits as u64,
        abits: s.abits as u64,
        obits: s.obits as u64,
        acc_bits: s.acc_bits as u64,
        use_bram: weights_in_bram(s, f),
        thresh_bram: thresholds_in_bram(s, f),
    });
    if let Some(g) = s.conv {
        let (k, w, c, e) = (g.k as u64, g.ifm_w as u64, g.channels as u64, s.abits as u64);
        r += match folding::window(g, f) {
            Window::Serial => serial_window(k, w, c, f.simd as u64, e),
            Window::Parallel => parallel_window(k, w, c, f.mmv as u64, e),
        };
    }
    r
}

fn serial_window(k: u64, w: u64, c: u64, simd: u64, e: u64) -> Resources {
    let bits = (k + 1) * w * c * e;
    let (lut, bram) = if bits > 4096 { (0, bram18(simd * e, (k + 1) * w * c / simd)) } else { (lutram(bits), 0) };
    Resources { lut: 70 + 3 * lut / 2 + simd * e / 2, ff: 60 + 2 * simd * e, bram18: bram, dsp: 0 }
}

fn parallel_window(k: u64, w: u64, c: u64, px: u64, e: u64) -> Resources {
    // Delay line of K-1 rows in LUT RAM, the register chain of K-1 columns and the output
    // skid buffer of PIXELS whole windows.
    let line = lutram((k - 1) * w * c * e) + (k - 1) * px * c * e;
    let window = px * k * k * c * e;
    Resources { lut: 40 + line + window, ff: 40 + (k - 1) * k * c * e + 2 * window + px * c * e, bram18: 0, dsp: 0 }
}

pub fn stage(s: &Stage) -> Resources {
    let p = |k: &str| s.int(k) as u64;
    match s.kind {
        Kind::Mvtu => mvtu(MvtuParams {
            mw: p("MW"),
            mh: p("MH"),
            pe: p("PE"),
            simd: p("SIMD"),
            mmv: p("MMV"),
            wbits: p("WBITS"),
            abits: p("ABITS"),
            obits: p("OBITS"),
            acc_bits: p("ACC_BITS"),
            use_bram: p("USE_BRAM") == 1,
            thresh_bram: p("THRESH_BRAM") == 1,
        }),
        Kind::SlidingWindow => serial_window(p("K"), p("IFM_W"), p("CHANNELS"), p("SIMD"), p("EBITS")),
        Kind::SlidingWindowPar => parallel_window(p("K"), p("IFM_W"), p("CHANNELS"), p("PIXELS"), p("EBITS")),
        Kind::MaxPool => {
            let (w, c, pe, e) = (p("IFM_W"), p("CHANNELS"), p("PE"), p("EBITS"));
            Resources { lut: 40 + 2 * lutram(w / 2 * c * e) + 3 * pe * e, ff: 30 + 2 * pe * e, bram18: 0, dsp: 0 }
        }
        Kind::MaxPoolPar => {
            let (w, c, px, e) = (p("IFM_W"), p("CHANNELS"), p("PIXELS"), p("EBITS"));
            let out = px / 2 * c * e;
            Resources { lut: 40 + 2 * lutram(w / 2 * c * e) + 3 * out, ff: 30 + 2 * out, bram18: 0, dsp: 0 }
        }
        Kind::InputQuant => {
            let (lanes, o) = (p("LANES"), p("OBITS"));
            let nt = (1u64 << o) - 1;
            // Thresholds are constants, so each comparator against one is about a LUT and a quarter;
            // the flops are the level register and the output skid buffer.
            Resources { lut: 10 + lanes * nt * 5 / 4, ff: 10 + 2 * lanes * o, bram18: 0, dsp: 0 }
        }
        Kind::WidthConverter => {
            // Shift registers: flops, with a LUT only where a bit has more than one source.
            let width = s.in_width.max(s.out_width) as u64;
            if s.in_width == s.out_width {
                Resources::default()
            } else if s.in_width > s.out_width {
                Resources { lut: 5 + width, ff: 10 + width + s.out_width as u64, bram18: 0, dsp: 0 }
            } else {
                Resources { lut: 5 + width / 16, ff: 10 + width, bram18: 0, dsp: 0 }
            }
        }
        Kind::Fifo => {
            let (width, depth) = (p("WIDTH"), p("DEPTH"));
            if depth > 32 && width * depth > 4096 {
                // Block RAM behind an output register.
                Resources { lut: 40, ff: 30 + width, bram18: bram18(width, depth - 1), dsp: 0 }
            } else if depth > 32 {
                // Too small for block RAM: LUT RAM with its read register.
                Resources { lut: 60 + 2 * depth.div_ceil(64) * width.div_ceil(4), ff: 30 + width, bram18: 0, dsp: 0 }
            } else {
                // Shallow FIFOs become LUT RAM, one LUT per bit per 32 entries.
                Resources { lut: 20 + width * depth.div_ceil(32), ff: 10 + width.min(8), bram18: 0, dsp: 0 }
            }
        }
        Kind::LabelSelect => {
            let n = p("NUM_CLASSES");
            Resources { lut: 20 + n * 20, ff: 20 + n * 37 + 8, bram18: 0, dsp: 0 }
        }
    }
}

/// Estimates of one model layer: its stages summed (resources) and its slowest stage (cycles).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerEstimate {
    pub layer: usize,
    pub name: String,
    pub cycles: u64,
    pub resources: Resources,
}

pub fn layers(plan: &Plan, names: &[String]) -> Vec<LayerEstimate> {
    names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let mut r = Resources::default();
            let mut cycles = 0;
            for s in plan.stages.iter().filter(|s| s.layer == i) {
                r += stage(s);
                cycles = cycles.max(s.cycles);
            }
            LayerEstimate { layer: i, name: name.clone(), cycles, resources: r }
        })
        .collect()
}

/// Pipeline latency of a stage (cycles from an input beat to the output beat it completes) and
/// the work left after its last input beat.
fn delays(s: &Stage) -> (u64, u64) {
    let p = |k: &str| s.int(k) as u64;
    match s.kind {
        Kind::Mvtu => {
            let (nf, sf) = (p("MH") / p("PE"), p("MW") / p("SIMD"));
            let groups = p("SIMD").div_ceil(if p("WBITS") == 1 && p("ABITS") == 1 { 64 } else { 4 });
            let tree = if groups <= 1 { 0 } else { count_bits(groups - 1).div_ceil(2) };
            (5 + tree, (nf - 1) * sf)
        }
        Kind::SlidingWindow => (3, p("CHANNELS") / p("SIMD")),
        Kind::Fifo => (if p("DEPTH") > 32 { 2 } else { 1 }, 0),
        Kind::WidthConverter => (1, (s.out_beats / s.in_beats.max(1)).saturating_sub(1)),
        Kind::InputQuant => (2, 0),
        Kind::SlidingWindowPar | Kind::MaxPool | Kind::MaxPoolPar | Kind::LabelSelect => (1, 0),
    }
}

/// Share of a stage's input that must arrive before its first output beat.
fn fill(s: &Stage) -> f64 {
    let p = |k: &str| s.int(k) as f64;
    match s.kind {
        Kind::SlidingWindow | Kind::SlidingWindowPar => {
            ((p("K") - 1.0) * p("IFM_W") + p("K")) / (p("IFM_H") * p("IFM_W"))
        }
        Kind::MaxPool | Kind::MaxPoolPar => (p("IFM_W") + 2.0) / (p("IFM_H") * p("IFM_W")),
        // A dense layer's first output fold needs the whole vector; a convolution's only its window.
        Kind::Mvtu if s.out_beats * (p("PE") as u64) <= p("MH") as u64 => 1.0,
        Kind::Mvtu => 0.0,
        Kind::LabelSelect => 1.0,
        _ => 0.0,
    }
}

/// Estimated latency of one image through an idle pipeline: first input beat to the output beat,
/// with the input at full rate. Each stage starts once enough of its input has arrived and ends
/// when both its input has ended (plus its remaining work) and its own cycle count has elapsed.
pub fn latency(plan: &Plan) -> u64 {
    let (mut first, mut last) = (0.0f64, plan.stages.first().map_or(0, |s| s.in_beats.saturating_sub(1)) as f64);
    for s in &plan.stages {
        let (lat, tail) = delays(s);
        let start = first + fill(s) * (last - first);
        let end = (last + (lat + tail) as f64).max(start + s.cycles as f64 + lat as f64 - 1.0);
        first = start + lat as f64;
        last = end;
    }
    last.round() as u64
}
