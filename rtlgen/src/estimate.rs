//! Analytical resource and cycle estimates per stage and per layer, from the same folding the RTL is
//! generated with, so reports can put estimate and measurement side by side. The resource model is
//! deliberately simple (in the spirit of FINN's analytical estimates) and labelled as an estimate.

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

/// LUT6s holding `bits` of distributed ROM/RAM (64x1 each).
fn lutram(bits: u64) -> u64 {
    bits.div_ceil(64)
}

/// RAMB18s for a `width x depth` memory (512 x 36 in simple dual-port mode, 1024 x 18, ...).
fn bram18(width: u64, depth: u64) -> u64 {
    let (w, d) = if depth <= 512 { (36, 512) } else if depth <= 1024 { (18, 1024) } else { (9, 2048) };
    width.div_ceil(w) * depth.div_ceil(d)
}

pub fn stage(s: &Stage) -> Resources {
    let p = |k: &str| s.int(k) as u64;
    match s.kind {
        Kind::Mvtu => {
            let (mw, mh, pe, simd) = (p("MW"), p("MH"), p("PE"), p("SIMD"));
            let (w, a, o, acc) = (p("WBITS"), p("ABITS"), p("OBITS"), p("ACC_BITS"));
            // Per PE: products, adder tree, accumulator, threshold comparators.
            let products = if w == 1 && a == 1 { simd } else { simd * (2 * (w + a).div_ceil(6) - 1) * (w + a) };
            let tree = if w == 1 && a == 1 { simd } else { (w + a) * (2 * simd - 1) };
            let nt = if o == 0 { 0 } else { (1u64 << o) - 1 };
            let compare = nt * acc.div_ceil(2);
            let per_pe = products + tree + acc + compare;
            let depth = (mh / pe) * (mw / simd);
            let width = pe * simd * w;
            let (mem_lut, mem_bram) = if p("USE_BRAM") == 1 { (0, bram18(width, depth)) } else { (lutram(width * depth), 0) };
            let thresholds = lutram(mh * nt * acc);
            let input_buffer = lutram(mw * a);
            Resources {
                lut: 40 + pe * per_pe + mem_lut + thresholds + input_buffer,
                ff: pe * acc + pe * o.max(acc * (o == 0) as u64) + simd * a + width + 32,
                bram18: mem_bram,
                dsp: 0,
            }
        }
        Kind::SlidingWindow => {
            let (k, w, c, e) = (p("K"), p("IFM_W"), p("CHANNELS"), p("EBITS"));
            let simd = p("SIMD");
            let bits = (k + 1) * w * c * e;
            let (lut, bram) = if bits > 4096 { (0, bram18(simd * e, (k + 1) * w * c / simd)) } else { (lutram(bits), 0) };
            Resources { lut: 60 + lut + simd * e, ff: 60 + 2 * simd * e, bram18: bram, dsp: 0 }
        }
        Kind::MaxPool => {
            let (w, c, pe, e) = (p("IFM_W"), p("CHANNELS"), p("PE"), p("EBITS"));
            Resources { lut: 30 + lutram(w / 2 * c * e) + 2 * pe * e, ff: 30 + 2 * pe * e, bram18: 0, dsp: 0 }
        }
        Kind::InputQuant => {
            let (lanes, o) = (p("LANES"), p("OBITS"));
            let nt = (1u64 << o) - 1;
            // Thresholds are constants, so each comparator against one is about a LUT and a quarter
            // (Yosys on the 8-bit identity quantizer: 2,499 LUT for 8 lanes x 255 thresholds); the
            // flops are the level register and the output skid buffer.
            Resources { lut: 10 + lanes * nt * 5 / 4, ff: 10 + 2 * lanes * o, bram18: 0, dsp: 0 }
        }
        Kind::WidthConverter => {
            let width = s.in_width.max(s.out_width) as u64;
            Resources { lut: 10 + width, ff: 10 + width, bram18: 0, dsp: 0 }
        }
        Kind::Fifo => {
            let (width, depth) = (p("WIDTH"), p("DEPTH"));
            // Shallow FIFOs become SRL32 shift registers, one LUT per bit per 32 entries.
            Resources { lut: 20 + width * depth.div_ceil(32), ff: 20 + width, bram18: 0, dsp: 0 }
        }
        Kind::LabelSelect => {
            let n = p("NUM_CLASSES");
            Resources { lut: 20 + n * 40, ff: 20 + n * 32 + 8, bram18: 0, dsp: 0 }
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
