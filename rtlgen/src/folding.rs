//! Folding: how many rows (PE) and columns (SIMD) each matrix-vector unit computes per clock, and how
//! many pixels enter per input beat. Given explicitly (a JSON file) or chosen to balance the layers'
//! cycle counts for a target initiation interval: the slowest layer sets the II, so every other layer
//! gets the cheapest folding that keeps up with it.

use golden_model::{Model, Op};
use serde::{Deserialize, Serialize};

/// Folding of one matrix-vector layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerFold {
    pub pe: usize,
    pub simd: usize,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Folding {
    /// Pixels per input beat (the input bus is `8 * in_pixels` bits wide).
    pub in_pixels: usize,
    /// One entry per model layer: `Some` for conv/dense layers, `None` for the others.
    pub layers: Vec<Option<LayerFold>>,
    /// Depth of the FIFO after every layer.
    pub fifo_depth: usize,
}

/// Upper bounds the automatic folding respects (resources per layer, bus width).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    pub max_pe: usize,
    pub max_simd: usize,
    pub max_in_pixels: usize,
    /// Largest PE x SIMD of one layer. The default keeps an 8-bit-input dense layer (an adder tree
    /// per PE) to a size Yosys synthesizes in minutes: 2048 lanes of 8-bit x 1-bit did not finish
    /// in 10 minutes, 512 lanes take about two.
    #[serde(default = "default_max_lanes")]
    pub max_lanes: usize,
}

fn default_max_lanes() -> usize {
    512
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_pe: 64, max_simd: 64, max_in_pixels: 8, max_lanes: default_max_lanes() }
    }
}

pub const DEFAULT_FIFO_DEPTH: usize = 32;

/// Matrix dimensions and vector count of a conv/dense layer, and the largest SIMD its input allows
/// (a sliding window groups channels, so a conv's SIMD divides its input channels).
#[derive(Clone, Copy, Debug)]
pub struct MatShape {
    pub rows: usize,
    pub cols: usize,
    pub vectors: usize,
    pub simd_divides: usize,
}

pub fn mat_shape(model: &Model, i: usize) -> Option<MatShape> {
    let out = model.output_shape(i);
    match &model.layers()[i].op {
        Op::Conv(c) => Some(MatShape {
            rows: c.out_channels(),
            cols: c.matvec().cols(),
            vectors: out.pixels(),
            simd_divides: c.in_channels(),
        }),
        Op::Dense(d) => Some(MatShape {
            rows: d.out_features(),
            cols: d.in_features(),
            vectors: 1,
            simd_divides: d.in_features(),
        }),
        _ => None,
    }
}

pub fn divisors(n: usize) -> Vec<usize> {
    (1..=n).filter(|d| n % d == 0).collect()
}

/// Cycles a matrix-vector layer needs per image at a folding.
pub fn mv_cycles(s: MatShape, f: LayerFold) -> u64 {
    (s.rows / f.pe) as u64 * (s.cols / f.simd) as u64 * s.vectors as u64
}

/// Cycles the input stream needs per image.
pub fn input_cycles(model: &Model, in_pixels: usize) -> u64 {
    model.input_shape().len().div_ceil(in_pixels) as u64
}

fn input_pixel_options(model: &Model, limits: Limits) -> Vec<usize> {
    let c = model.input_shape().channels;
    let len = model.input_shape().len();
    // The quantizer gives lane j channel j % C, and the input must split into whole beats.
    divisors(len).into_iter().filter(|&p| p <= limits.max_in_pixels && p % c == 0).collect()
}

fn fold_options(s: MatShape, limits: Limits) -> Vec<LayerFold> {
    let mut v = vec![];
    for pe in divisors(s.rows).into_iter().filter(|&p| p <= limits.max_pe) {
        for simd in divisors(s.simd_divides)
            .into_iter()
            .filter(|&d| d <= limits.max_simd && s.cols % d == 0 && pe * d <= limits.max_lanes.max(1))
        {
            v.push(LayerFold { pe, simd });
        }
    }
    v
}

/// Smallest II any folding within `limits` reaches: the slowest layer at its fastest.
pub fn min_ii(model: &Model, limits: Limits) -> u64 {
    let mut worst = input_pixel_options(model, limits).iter().map(|&p| input_cycles(model, p)).min().unwrap_or(u64::MAX);
    for i in 0..model.layers().len() {
        if let Some(s) = mat_shape(model, i) {
            let best = fold_options(s, limits).into_iter().map(|f| mv_cycles(s, f)).min().unwrap_or(u64::MAX);
            worst = worst.max(best);
        }
    }
    worst
}

impl Folding {
    /// Cheapest folding whose every layer needs at most `target_ii` cycles per image (default: the
    /// smallest II reachable within `limits`). Cost is PE x SIMD; ties prefer wider SIMD, since
    /// each extra PE replicates accumulators and threshold comparators while SIMD lanes share them.
    pub fn auto(model: &Model, target_ii: Option<u64>, limits: Limits) -> Result<Folding, String> {
        let floor = min_ii(model, limits);
        let target = target_ii.unwrap_or(floor);
        if target < floor {
            return Err(format!(
                "target II {target} cycles is below the {floor} cycles the slowest layer needs at the folding limits \
                 (PE <= {}, SIMD <= {}, PE x SIMD <= {}, {} input pixels per beat); raise the target or the limits",
                limits.max_pe, limits.max_simd, limits.max_lanes, limits.max_in_pixels
            ));
        }
        let in_pixels = input_pixel_options(model, limits)
            .into_iter()
            .find(|&p| input_cycles(model, p) <= target)
            .expect("min_ii covers the input");
        let layers = (0..model.layers().len())
            .map(|i| {
                mat_shape(model, i).map(|s| {
                    fold_options(s, limits)
                        .into_iter()
                        .filter(|&f| mv_cycles(s, f) <= target)
                        .min_by_key(|f| (f.pe * f.simd, f.pe))
                        .expect("min_ii covers every layer")
                })
            })
            .collect();
        Ok(Folding { in_pixels, layers, fifo_depth: DEFAULT_FIFO_DEPTH })
    }

    /// Checks an explicit folding against the model; the message names the layer.
    pub fn validate(&self, model: &Model) -> Result<(), String> {
        let n = model.layers().len();
        if self.layers.len() != n {
            return Err(format!("folding lists {} layers, the model has {n}", self.layers.len()));
        }
        let len = model.input_shape().len();
        let c = model.input_shape().channels;
        if self.in_pixels == 0 || len % self.in_pixels != 0 || self.in_pixels % c != 0 {
            return Err(format!(
                "in_pixels = {}: must divide the {len} input values and be a multiple of the {c} channels",
                self.in_pixels
            ));
        }
        if self.fifo_depth < 2 {
            return Err(format!("fifo_depth = {}: at least 2", self.fifo_depth));
        }
        for (i, (l, f)) in model.layers().iter().zip(&self.layers).enumerate() {
            match (mat_shape(model, i), f) {
                (Some(s), Some(f)) => {
                    if f.pe == 0 || s.rows % f.pe != 0 {
                        return Err(format!("layer {} ({}): PE {} must divide its {} outputs", i, l.name, f.pe, s.rows));
                    }
                    if f.simd == 0 || s.simd_divides % f.simd != 0 || s.cols % f.simd != 0 {
                        return Err(format!(
                            "layer {} ({}): SIMD {} must divide {} ({})",
                            i,
                            l.name,
                            f.simd,
                            s.simd_divides,
                            if matches!(l.op, Op::Conv(_)) { "input channels" } else { "input features" }
                        ));
                    }
                }
                (None, None) => {}
                (Some(_), None) => return Err(format!("layer {} ({}): needs a PE/SIMD folding", i, l.name)),
                (None, Some(_)) => return Err(format!("layer {} ({}): has no matrix to fold", i, l.name)),
            }
        }
        Ok(())
    }
}
