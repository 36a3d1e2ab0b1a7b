//! Folding: how many rows (PE) and columns (SIMD) each matrix-vector unit computes per clock, how
//! many windows a convolution takes per beat (MMV), and how many pixels enter per input beat.
//! Given explicitly (a JSON file) or chosen for a target initiation interval, FINN `target_fps`
//! style: every layer gets the cheapest folding (by the resource estimate) that keeps up with the
//! target, within the limits and the device budget.
//!
//! A convolution whose SIMD divides its input channels uses the channel-serial sliding window
//! (`K*K*C/SIMD` beats per window); any other SIMD dividing `K*K*C`, or MMV > 1, uses the
//! window-parallel one, which emits MMV whole windows per beat (re-beaten to SIMD when smaller).

use crate::estimate::{self, Device, Resources};
use golden_model::{Model, Op};
use serde::{Deserialize, Serialize};

/// Folding of one matrix-vector layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerFold {
    pub pe: usize,
    pub simd: usize,
    /// Vectors (windows, for a convolution) per beat; above 1 only for a fully parallel layer
    /// (PE = rows, SIMD = columns).
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub mmv: usize,
}

fn one() -> usize {
    1
}

fn is_one(v: &usize) -> bool {
    *v == 1
}

impl LayerFold {
    pub fn new(pe: usize, simd: usize) -> LayerFold {
        LayerFold { pe, simd, mmv: 1 }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Folding {
    /// Pixels per input beat (the input bus is `8 * in_pixels` bits wide).
    pub in_pixels: usize,
    /// One entry per model layer: `Some` for conv/dense layers, `None` for the others.
    pub layers: Vec<Option<LayerFold>>,
    /// Depth of the FIFO after every layer, unless `fifo_depths` says otherwise.
    pub fifo_depth: usize,
    /// Per layer, the depth of the FIFO after it (sized from simulation); `None` for
    /// `fifo_depth`. Empty: `fifo_depth` everywhere. A dense layer's FIFO in front of it always
    /// holds at least one whole input vector.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fifo_depths: Vec<Option<usize>>,
}

/// Upper bounds the automatic folding respects: per-layer parallelism, bus width and the share
/// of the device the whole accelerator may use (by the generator's estimates).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Limits {
    pub max_pe: usize,
    pub max_simd: usize,
    pub max_in_pixels: usize,
    /// Largest PE x SIMD x MMV of a layer with multi-bit operands (an adder tree of products per
    /// PE). It keeps such layers to a size Yosys 0.23 synthesizes in minutes: 2048 lanes of an
    /// 8-bit x 1-bit dense layer did not finish in 10 minutes, 512 take about two. XNOR-popcount
    /// layers are not limited by it.
    #[serde(default = "default_max_lanes")]
    pub max_lanes: usize,
    /// Largest number of windows a convolution takes per beat.
    #[serde(default = "default_max_mmv")]
    pub max_mmv: usize,
    /// Largest estimated share of the device's LUTs, DSP slices and block RAM, in percent.
    #[serde(default = "hundred")]
    pub max_lut_pct: f64,
    #[serde(default = "hundred")]
    pub max_dsp_pct: f64,
    #[serde(default = "hundred")]
    pub max_bram_pct: f64,
}

fn default_max_lanes() -> usize {
    512
}

fn default_max_mmv() -> usize {
    8
}

fn hundred() -> f64 {
    100.0
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_pe: 4096,
            max_simd: 4096,
            max_in_pixels: 8,
            max_lanes: default_max_lanes(),
            max_mmv: default_max_mmv(),
            max_lut_pct: 100.0,
            max_dsp_pct: 100.0,
            max_bram_pct: 100.0,
        }
    }
}

pub const DEFAULT_FIFO_DEPTH: usize = 32;

/// A convolution's window geometry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvGeom {
    pub k: usize,
    pub channels: usize,
    pub ifm_h: usize,
    pub ifm_w: usize,
}

/// Matrix dimensions, vector count and bit widths of a conv/dense layer.
#[derive(Clone, Copy, Debug)]
pub struct MatShape {
    pub rows: usize,
    pub cols: usize,
    pub vectors: usize,
    pub wbits: usize,
    pub abits: usize,
    /// Output activation bits, 0 for the logit layer.
    pub obits: usize,
    pub acc_bits: usize,
    pub conv: Option<ConvGeom>,
}

impl MatShape {
    pub fn binary(&self) -> bool {
        self.wbits == 1 && self.abits == 1
    }
}

/// Which sliding-window generator a convolution uses at a folding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Window {
    /// `sliding_window`: `K*K*C/SIMD` beats per window, SIMD divides C.
    Serial,
    /// `sliding_window_par`: MMV whole windows per beat.
    Parallel,
}

pub fn window(g: ConvGeom, f: LayerFold) -> Window {
    if f.mmv == 1 && g.channels.is_multiple_of(f.simd) { Window::Serial } else { Window::Parallel }
}

pub fn mat_shape(model: &Model, i: usize) -> Option<MatShape> {
    let out = model.output_shape(i);
    let (mv, vectors, conv) = match &model.layers()[i].op {
        Op::Conv(c) => {
            let input = model.layer_input_shape(i);
            let g = ConvGeom { k: c.kernel(), channels: c.in_channels(), ifm_h: input.height, ifm_w: input.width };
            (c.matvec(), out.pixels(), Some(g))
        }
        Op::Dense(d) => (d.matvec(), 1, None),
        _ => return None,
    };
    Some(MatShape {
        rows: mv.rows(),
        cols: mv.cols(),
        vectors,
        wbits: mv.weight_type().bits as usize,
        abits: mv.in_type().bits as usize,
        obits: mv.out_type().map_or(0, |t| t.bits as usize),
        acc_bits: crate::mem::acc_bits(mv),
        conv,
    })
}

pub fn divisors(n: usize) -> Vec<usize> {
    (1..=n).filter(|d| n.is_multiple_of(*d)).collect()
}

/// Cycles a matrix-vector layer needs per image at a folding.
pub fn mv_cycles(s: MatShape, f: LayerFold) -> u64 {
    (s.rows / f.pe) as u64 * (s.cols / f.simd) as u64 * s.vectors.div_ceil(f.mmv) as u64
}

/// Cycles a layer's stages (the matrix-vector unit and a convolution's sliding window, which
/// reads every input pixel) need per image at a folding.
pub fn layer_cycles(s: MatShape, f: LayerFold) -> u64 {
    let window_in = s.conv.map_or(0, |g| {
        let pixels = (g.ifm_h * g.ifm_w) as u64;
        match window(g, f) {
            Window::Serial => pixels * (g.channels / f.simd) as u64,
            Window::Parallel => pixels.div_ceil(f.mmv as u64),
        }
    });
    mv_cycles(s, f).max(window_in)
}

/// Cycles the input stream needs per image.
pub fn input_cycles(model: &Model, in_pixels: usize) -> u64 {
    model.input_shape().len().div_ceil(in_pixels) as u64
}

fn input_pixel_options(model: &Model, limits: &Limits) -> Vec<usize> {
    let c = model.input_shape().channels;
    let len = model.input_shape().len();
    // The quantizer gives lane j channel j % C, and the input must split into whole beats.
    divisors(len).into_iter().filter(|&p| p <= limits.max_in_pixels && p % c == 0).collect()
}

/// Why a folding is not valid for a layer, or `None`.
fn fold_error(s: MatShape, f: LayerFold) -> Option<String> {
    if f.pe == 0 || !s.rows.is_multiple_of(f.pe) {
        return Some(format!("PE {} must divide its {} outputs", f.pe, s.rows));
    }
    if f.simd == 0 || !s.cols.is_multiple_of(f.simd) {
        return Some(format!("SIMD {} must divide its {} columns", f.simd, s.cols));
    }
    if f.mmv == 0 {
        return Some("MMV must be at least 1".into());
    }
    if f.mmv > 1 {
        let Some(g) = s.conv else { return Some(format!("MMV {}: only a convolution takes several windows per beat", f.mmv)) };
        if f.pe != s.rows || f.simd != s.cols {
            return Some(format!(
                "MMV {} needs the layer fully parallel (PE {} = rows, SIMD {} = columns)",
                f.mmv, s.rows, s.cols
            ));
        }
        if (g.k - 1) % f.mmv != 0 || g.ifm_w % f.mmv != 0 {
            return Some(format!(
                "MMV {}: must divide the input width {} and K-1 = {} (windows per beat fill whole beats)",
                f.mmv,
                g.ifm_w,
                g.k - 1
            ));
        }
    }
    None
}

/// Every folding of a layer within the limits.
pub fn fold_options(s: MatShape, limits: &Limits) -> Vec<LayerFold> {
    let mut v = vec![];
    for pe in divisors(s.rows).into_iter().filter(|&p| p <= limits.max_pe) {
        for simd in divisors(s.cols).into_iter().filter(|&d| d <= limits.max_simd) {
            let mut mmvs = vec![1];
            if let Some(g) = s.conv
                && pe == s.rows
                && simd == s.cols
            {
                mmvs.extend((2..=limits.max_mmv).filter(|m| (g.k - 1) % m == 0 && g.ifm_w % m == 0));
            }
            for mmv in mmvs {
                let f = LayerFold { pe, simd, mmv };
                if !s.binary() && pe * simd * mmv > limits.max_lanes.max(1) {
                    continue;
                }
                v.push(f);
            }
        }
    }
    v
}

/// What sets the smallest reachable II: the input stream or a layer at its fastest.
fn floor_of(model: &Model, limits: &Limits) -> (u64, String) {
    let input = input_pixel_options(model, limits).iter().map(|&p| input_cycles(model, p)).min().unwrap_or(u64::MAX);
    let mut worst = (input, format!("the input stream ({} pixels per beat at most)", limits.max_in_pixels));
    for i in 0..model.layers().len() {
        if let Some(s) = mat_shape(model, i) {
            let best = fold_options(s, limits).into_iter().map(|f| layer_cycles(s, f)).min().unwrap_or(u64::MAX);
            if best > worst.0 {
                let what = match s.conv {
                    Some(g) => {
                        let mmv = fold_options(s, limits).iter().map(|f| f.mmv).max().unwrap_or(1);
                        format!(
                            "layer {} ({}): {} windows of {} x {} from {} input pixels, at most {mmv} per beat \
                             (windows per beat must divide K-1 = {} and the input width {}, and stay within --max-mmv {})",
                            i,
                            model.layers()[i].name,
                            s.vectors,
                            s.rows,
                            s.cols,
                            g.ifm_h * g.ifm_w,
                            g.k - 1,
                            g.ifm_w,
                            limits.max_mmv
                        )
                    }
                    None => format!("layer {} ({}): {} x {} matrix", i, model.layers()[i].name, s.rows, s.cols),
                };
                worst = (best, what);
            }
        }
    }
    worst
}

/// Smallest II any folding within `limits` reaches (the device budget aside): the slowest layer
/// at its fastest, or a stage between layers (a converter or pool) when that is slower still.
pub fn min_ii(model: &Model, limits: Limits) -> u64 {
    floor(model, &limits).0
}

/// The smallest II the limits allow and, in words, what sets it (the input stream, a layer at
/// its fastest, or a stage between layers).
pub fn limit(model: &Model, limits: Limits) -> (u64, String) {
    floor(model, &limits)
}

/// [`floor_of`] raised until a folding exists: a converter or pool between layers can be slower
/// than any layer; the search only moves up, by the blocking stage's cycles each time.
fn floor(model: &Model, limits: &Limits) -> (u64, String) {
    let (mut ii, mut why) = floor_of(model, limits);
    let unlimited = Limits { max_lut_pct: f64::INFINITY, max_dsp_pct: f64::INFINITY, max_bram_pct: f64::INFINITY, ..*limits };
    while ii < u64::MAX {
        match Folding::for_target(model, ii, &unlimited) {
            Ok(_) | Err(Over::Budget(_)) => break,
            Err(Over::Speed(msg, needs)) => match needs.filter(|&n| n > ii) {
                Some(n) => {
                    ii = n;
                    why = msg;
                }
                None => return (u64::MAX, msg),
            },
        }
    }
    (ii, why)
}

/// The II the automatic folding aims at without a target: the input stream at one pixel per beat
/// (about one pixel per clock, what a streaming CNN is expected to take), or the smallest II
/// the limits allow when a layer cannot keep up with that.
pub fn default_target_ii(model: &Model, limits: Limits) -> u64 {
    input_cycles(model, model.input_shape().channels).max(min_ii(model, limits))
}

/// The target II for `fps` images per second at `clock_mhz`.
pub fn ii_for_fps(fps: f64, clock_mhz: f64) -> Result<u64, String> {
    if !(fps.is_finite() && fps > 0.0) {
        return Err(format!("target {fps} images/s: give a positive number"));
    }
    let ii = (clock_mhz * 1e6 / fps).floor();
    if ii < 1.0 {
        return Err(format!("{fps} images/s at {clock_mhz} MHz is less than one cycle per image"));
    }
    Ok(ii as u64)
}

impl Folding {
    /// Cheapest folding (by the resource estimate) whose every stage needs at most `target_ii`
    /// cycles per image, within `limits`. Without a target: [`default_target_ii`], or, when that
    /// design exceeds the device budget, the fastest one within it.
    pub fn auto(model: &Model, target_ii: Option<u64>, limits: Limits) -> Result<Folding, String> {
        let (floor, limiter) = floor(model, &limits);
        if floor == u64::MAX {
            return Err(format!("no folding within the limits for {limiter}; raise --max-pe/--max-simd/--max-lanes"));
        }
        let Some(target) = target_ii else {
            let target = default_target_ii(model, limits);
            return match Self::for_target(model, target, &limits) {
                Err(Over::Budget(msg)) => Self::fastest_within_budget(model, target, &limits).ok_or(msg),
                r => r.map_err(Over::message),
            };
        };
        if target < floor {
            return Err(format!(
                "target II {target} cycles is below the {floor} cycles that {limiter} needs at its fastest within the limits \
                 (PE <= {}, SIMD <= {}, multi-bit lanes <= {}, {} windows and {} input pixels per beat at most); \
                 raise the target or the limits",
                limits.max_pe, limits.max_simd, limits.max_lanes, limits.max_mmv, limits.max_in_pixels
            ));
        }
        Self::for_target(model, target, &limits).map_err(Over::message)
    }

    /// The fastest folding at or above `from` cycles that fits the budget (binary search on the
    /// II: the cheapest folding only gets cheaper as the target relaxes).
    fn fastest_within_budget(model: &Model, from: u64, limits: &Limits) -> Option<Folding> {
        let slowest = (0..model.layers().len())
            .filter_map(|i| mat_shape(model, i).map(|s| layer_cycles(s, LayerFold::new(1, 1))))
            .max()
            .unwrap_or(from)
            .max(from);
        let mut best = Self::for_target(model, slowest, limits).ok()?;
        let (mut lo, mut hi) = (from, slowest);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match Self::for_target(model, mid, limits) {
                Ok(f) => {
                    best = f;
                    hi = mid;
                }
                Err(_) => lo = mid + 1,
            }
        }
        Some(best)
    }

    fn for_target(model: &Model, target: u64, limits: &Limits) -> Result<Folding, Over> {
        let mut layers = vec![];
        for i in 0..model.layers().len() {
            let Some(s) = mat_shape(model, i) else {
                layers.push(None);
                continue;
            };
            let best = fold_options(s, limits)
                .into_iter()
                .filter(|&f| layer_cycles(s, f) <= target)
                .map(|f| (estimate::layer_cost(s, f).cost(), f.pe * f.simd, f))
                .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)))
                .map(|(_, _, f)| f)
                .ok_or_else(|| {
                    Over::Speed(format!("layer {} ({}) cannot finish in {target} cycles", i, model.layers()[i].name), None)
                })?;
            layers.push(Some(best));
        }
        // The narrowest input bus whose stages all keep up: converters and pools between the
        // layers depend on it too.
        let mut slow = Over::Speed(format!("the input stream needs more than {target} cycles per image"), None);
        for in_pixels in input_pixel_options(model, limits).into_iter().filter(|&p| input_cycles(model, p) <= target) {
            let f = Folding { in_pixels, layers: layers.clone(), fifo_depth: DEFAULT_FIFO_DEPTH, fifo_depths: vec![] };
            let plan = crate::plan::plan_shape(model, &f).map_err(|e| Over::Speed(e, None))?;
            if let Some(st) = plan.stages.iter().find(|st| st.cycles > target) {
                slow = Over::Speed(
                    format!("stage {} ({} cycles per image at this folding)", st.name, st.cycles),
                    Some(st.cycles),
                );
                continue;
            }
            let total = plan.stages.iter().fold(Resources::default(), |mut r, st| {
                r += estimate::stage(st);
                r
            });
            return within_budget(&total, target, limits).map(|()| f);
        }
        Err(slow)
    }

    /// Checks an explicit folding against the model; the message names the layer.
    pub fn validate(&self, model: &Model) -> Result<(), String> {
        let n = model.layers().len();
        if self.layers.len() != n {
            return Err(format!("folding lists {} layers, the model has {n}", self.layers.len()));
        }
        let len = model.input_shape().len();
        let c = model.input_shape().channels;
        if self.in_pixels == 0 || !len.is_multiple_of(self.in_pixels) || !self.in_pixels.is_multiple_of(c) {
            return Err(format!(
                "in_pixels = {}: must divide the {len} input values and be a multiple of the {c} channels",
                self.in_pixels
            ));
        }
        if self.fifo_depth < 2 {
            return Err(format!("fifo_depth = {}: at least 2", self.fifo_depth));
        }
        if !self.fifo_depths.is_empty() {
            if self.fifo_depths.len() != n {
                return Err(format!("fifo_depths lists {} layers, the model has {n}", self.fifo_depths.len()));
            }
            if let Some((i, d)) = self.fifo_depths.iter().enumerate().find(|(_, d)| d.is_some_and(|d| d < 2)) {
                return Err(format!("fifo_depths[{i}] = {}: at least 2", d.unwrap_or(0)));
            }
            if self.fifo_depths[n - 1].is_some() {
                return Err(format!("fifo_depths[{}]: the last layer has no FIFO after it; use null", n - 1));
            }
        }
        for (i, (l, f)) in model.layers().iter().zip(&self.layers).enumerate() {
            match (mat_shape(model, i), f) {
                (Some(s), Some(f)) => {
                    if let Some(e) = fold_error(s, *f) {
                        return Err(format!("layer {} ({}): {e}", i, l.name));
                    }
                }
                (None, None) => {}
                (Some(_), None) => return Err(format!("layer {} ({}): needs a PE/SIMD folding", i, l.name)),
                (None, Some(_)) => return Err(format!("layer {} ({}): has no matrix to fold", i, l.name)),
            }
        }
        Ok(())
    }

    /// Depth of the FIFO after layer `i`.
    pub fn fifo_after(&self, i: usize) -> usize {
        self.fifo_depths.get(i).copied().flatten().unwrap_or(self.fifo_depth)
    }
}

fn within_budget(total: &Resources, target: u64, limits: &Limits) -> Result<(), Over> {
    let d = Device::XCZU7EV;
    let over: Vec<String> = [
        ("LUT", d.lut_pct(total), limits.max_lut_pct, "--max-lut-pct"),
        ("DSP", d.dsp_pct(total), limits.max_dsp_pct, "--max-dsp-pct"),
        ("BRAM", d.bram_pct(total), limits.max_bram_pct, "--max-bram-pct"),
    ]
    .into_iter()
    .filter(|(_, used, max, _)| used > max)
    .map(|(what, used, max, flag)| format!("{what} {used:.1} % of the {} (estimate) > {flag} {max}", d.name))
    .collect();
    if over.is_empty() {
        return Ok(());
    }
    Err(Over::Budget(format!(
        "the cheapest folding for an II of {target} cycles exceeds the budget: {}; raise the budget or lower the target \
         (--target-ii/--target-fps)",
        over.join(", ")
    )))
}

/// Why a target cannot be met: too fast for the structure (what is too slow, and the cycles it
/// needs when a stage of the plan is the one), or too big for the budget.
enum Over {
    Speed(String, Option<u64>),
    Budget(String),
}

impl Over {
    fn message(self) -> String {
        match self {
            Over::Speed(m, None) | Over::Budget(m) => m,
            Over::Speed(m, Some(_)) => format!("{m} is slower than the target; raise the target"),
        }
    }
}
