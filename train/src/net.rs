//! The training graph: float shadow weights, quantized forward pass with straight-through
//! estimators, batch norm, max-pool, softmax cross-entropy, hand-written backward pass, Adam.
//!
//! Layer order in the training graph: `conv/dense (quantized weights) -> batch norm -> [max-pool]
//! -> activation quantizer`. Pooling the batch-norm output before quantizing gives the same values as
//! the integer model's `threshold -> max-pool` (the quantizer is monotone non-decreasing in the
//! batch-norm output), at a quarter of the quantizer work.
//!
//! The eval-mode forward pass ([`IntNet`]) works on integer codes: accumulators are exact (f64 GEMM
//! on integer values) and each channel's batch norm + quantizer is one function of the integer
//! accumulator ([`LevelFn`]), the same function the exporter turns into thresholds.

use crate::arch::{LayerGeometry, LayerSpec, geometry};
use crate::kernels::{ConvGeom, dgemm_abt, par_map, par_parts, piece_ranges, sgemm_ab_new, sgemm_abt_new, sgemm_atb};
use crate::quant::{ActQuant, Bits, InputQuant, QuantWeights, quantize_weights};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub const BN_EPS: f32 = 1e-4;
pub const BN_MOMENTUM: f32 = 0.1;

/// A trainable tensor with its gradient and Adam moments.
#[derive(Clone, Debug)]
pub struct Param {
    pub v: Vec<f32>,
    pub g: Vec<f32>,
    m: Vec<f32>,
    s: Vec<f32>,
}

impl Param {
    pub fn new(v: Vec<f32>) -> Self {
        let n = v.len();
        Param { v, g: vec![0.0; n], m: vec![0.0; n], s: vec![0.0; n] }
    }
    fn adam(&mut self, lr: f32, t: i32, wd: f32, clip: Option<f32>) {
        const B1: f32 = 0.9;
        const B2: f32 = 0.999;
        const EPS: f32 = 1e-8;
        let c1 = 1.0 - B1.powi(t);
        let c2 = 1.0 - B2.powi(t);
        for i in 0..self.v.len() {
            let g = self.g[i];
            self.m[i] = B1 * self.m[i] + (1.0 - B1) * g;
            self.s[i] = B2 * self.s[i] + (1.0 - B2) * g * g;
            let upd = (self.m[i] / c1) / ((self.s[i] / c2).sqrt() + EPS) + wd * self.v[i];
            let mut v = self.v[i] - lr * upd;
            if let Some(c) = clip {
                v = v.clamp(-c, c);
            }
            self.v[i] = v;
        }
    }
}

#[derive(Clone, Debug)]
pub enum Head {
    /// Batch norm and an activation quantizer (hidden layers).
    Hidden { gamma: Param, beta: Param, run_mean: Vec<f32>, run_var: Vec<f32>, act: ActQuant },
    /// `logit = exp(log_scale) * acc + bias` (the last layer; one weight scale for all rows so the
    /// logit difference is a function of the integer accumulator difference).
    Logits { log_scale: Param, bias: Param },
}

#[derive(Clone, Debug)]
pub struct NetLayer {
    pub geom: ConvGeom,
    pub cout: usize,
    pub pool: bool,
    pub is_conv: bool,
    /// Weights `[cout][kh * kw * cin]`, columns `(ky, kx, ic)`.
    pub w: Param,
    pub head: Head,
    /// The float value of an input code: `value = int * in_scale`.
    pub in_scale: f32,
    /// Weight bits.
    pub wbits: u8,
}

impl NetLayer {
    pub fn out_hw(&self) -> (usize, usize) {
        let (h, w) = (self.geom.oh(), self.geom.ow());
        if self.pool { (h / 2, w / 2) } else { (h, w) }
    }
    pub fn out_len(&self) -> usize {
        let (h, w) = self.out_hw();
        h * w * self.cout
    }
    pub fn is_logits(&self) -> bool {
        matches!(self.head, Head::Logits { .. })
    }
    pub fn quant_weights(&self) -> QuantWeights {
        quantize_weights(&self.w.v, self.cout, self.geom.k(), self.wbits, !self.is_logits())
    }
}

/// The whole training graph.
#[derive(Clone, Debug)]
pub struct Net {
    pub spec: Vec<LayerSpec>,
    pub bits: Bits,
    pub act_range: f32,
    pub size: usize,
    pub input: InputQuant,
    pub layers: Vec<NetLayer>,
    /// Gradient checks only: no weight or activation quantization (identity activations), so the
    /// whole graph is differentiable. Never set in training.
    #[doc(hidden)]
    pub float_mode: bool,
}

/// What a training-mode forward pass does to the batch-norm running statistics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stats {
    Keep,
    /// Exponential moving average with momentum [`BN_MOMENTUM`].
    Update,
    /// Replace them by this batch's statistics (calibration).
    Set,
    /// Running average over calibration batches: this is batch number `n` (0-based), weight `1/(n+1)`.
    Average(usize),
}

/// What the forward pass keeps for the backward pass, per piece of the batch.
struct PieceCache {
    /// im2col patches (or the input itself for a dense layer), `[rows][k]`.
    patches: Vec<f32>,
    /// Batch-norm normalised pre-activations `[rows][cout]` (hidden) or raw accumulators (logits).
    xhat: Vec<f32>,
    /// For each (pooled) output element, the index (within the piece) of the pre-pool maximum.
    pool_idx: Vec<u32>,
    /// STE mask of the activation quantizer, per (pooled) output element.
    ste: Vec<bool>,
}

struct LayerCache {
    wq: QuantWeights,
    invstd: Vec<f32>,
    pieces: Vec<PieceCache>,
}

pub struct Forward {
    caches: Vec<LayerCache>,
    /// `[batch][classes]`
    pub logits: Vec<f32>,
    pub batch: usize,
}

impl Net {
    /// A freshly initialised network (uniform fan-in initialisation, identity batch norm).
    pub fn new(spec: &[LayerSpec], bits: Bits, act_range: f32, size: usize, classes: usize, seed: u64) -> Result<Net, String> {
        let geos = geometry(spec, size, classes)?;
        let input = InputQuant { bits: bits.in_bits };
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5EED_1417);
        let act = ActQuant { bits: bits.abits, range: act_range };
        let n = geos.len();
        let mut layers = vec![];
        for (i, g) in geos.iter().enumerate() {
            let LayerGeometry { input: (ih, iw, cin), kernel: (kh, kw), out, pool, is_conv, .. } = *g;
            let geom = ConvGeom { ih, iw, cin, kh, kw };
            let fan_in = geom.k();
            let bound = (6.0 / fan_in as f32).sqrt().min(1.0);
            let w: Vec<f32> = (0..out * fan_in).map(|_| rng.random_range(-bound..bound)).collect();
            let last = i + 1 == n;
            let head = if last {
                Head::Logits { log_scale: Param::new(vec![-(fan_in as f32).sqrt().ln()]), bias: Param::new(vec![0.0; out]) }
            } else {
                Head::Hidden {
                    gamma: Param::new(vec![1.0; out]),
                    beta: Param::new(vec![0.0; out]),
                    run_mean: vec![0.0; out],
                    run_var: vec![1.0; out],
                    act,
                }
            };
            let in_scale = if i == 0 { input.value_scale() } else { act.value_scale() };
            layers.push(NetLayer { geom, cout: out, pool, is_conv, w: Param::new(w), head, in_scale, wbits: bits.wbits });
        }
        Ok(Net { spec: spec.to_vec(), bits, act_range, size, input, layers, float_mode: false })
    }

    pub fn classes(&self) -> usize {
        self.layers.last().expect("layers").cout
    }

    /// Float input values of a batch of images (8-bit pixels, `size * size` each).
    pub fn input_values(&self, pixels: &[u8]) -> Vec<f32> {
        let s = self.input.value_scale();
        pixels.iter().map(|&p| self.input.int(p) as f32 * s).collect()
    }

    /// Training-mode forward pass (batch statistics). `x` holds `batch` images of input values
    /// (see [`Net::input_values`]). `stats` says what happens to the running statistics.
    ///
    /// The batch is cut into [`crate::kernels::PARTS`] fixed pieces of whole images that run in
    /// parallel; batch-norm statistics are reduced over the pieces in piece order.
    pub fn forward_train(&mut self, x: Vec<f32>, batch: usize, stats: Stats) -> Forward {
        let ranges = piece_ranges(batch);
        let in_len0 = self.layers[0].geom.in_len();
        assert_eq!(x.len(), batch * in_len0);
        let mut xs: Vec<Vec<f32>> = ranges.iter().map(|r| x[r.start * in_len0..r.end * in_len0].to_vec()).collect();
        drop(x);
        let mut caches = vec![];
        let float_mode = self.float_mode;
        for layer in self.layers.iter_mut() {
            let g = layer.geom;
            let (oh, ow, k, cout) = (g.oh(), g.ow(), g.k(), layer.cout);
            let per_img = oh * ow;
            let rows = batch * per_img;
            let wq = if float_mode { float_weights(&layer.w.v, cout) } else { layer.quant_weights() };
            // Phase 1: patches, accumulators, per-channel sums.
            let p1 = par_map(xs, |_, x| {
                let imgs = x.len() / g.in_len();
                let patches = if g.is_full() { x } else { g.im2col_new(&x) };
                let z = sgemm_abt_new(imgs * per_img, k, cout, &patches, &wq.values);
                let sums = channel_sums(&z, cout, None);
                (patches, z, sums)
            });
            if let Head::Logits { log_scale, bias } = &layer.head {
                let s = log_scale.v[0].exp();
                let mut logits = Vec::with_capacity(batch * cout);
                let mut pieces = vec![];
                for (patches, z, _) in p1 {
                    logits.extend(z.iter().enumerate().map(|(i, &v)| s * v + bias.v[i % cout]));
                    pieces.push(PieceCache { patches, xhat: z, pool_idx: vec![], ste: vec![] });
                }
                caches.push(LayerCache { wq, invstd: vec![], pieces });
                return Forward { caches, logits, batch };
            }
            let Head::Hidden { gamma, beta, run_mean, run_var, act } = &mut layer.head else { unreachable!() };
            let mut mean = vec![0f64; cout];
            for (_, _, sums) in &p1 {
                for (m, s) in mean.iter_mut().zip(sums) {
                    *m += s;
                }
            }
            mean.iter_mut().for_each(|m| *m /= rows as f64);
            // Phase 2: squared deviations (two-pass variance).
            let p2 = par_map(p1, |_, (patches, z, _)| {
                let q = channel_sums(&z, cout, Some(&mean));
                (patches, z, q)
            });
            let mut var = vec![0f64; cout];
            for (_, _, q) in &p2 {
                for (v, s) in var.iter_mut().zip(q) {
                    *v += s;
                }
            }
            var.iter_mut().for_each(|v| *v /= rows as f64);
            let invstd: Vec<f32> = var.iter().map(|&v| 1.0 / (v as f32 + BN_EPS).sqrt()).collect();
            let unbias = rows as f64 / (rows as f64 - 1.0).max(1.0);
            let mom = match stats {
                Stats::Keep => 0.0,
                Stats::Update => BN_MOMENTUM,
                Stats::Set => 1.0,
                Stats::Average(n) => 1.0 / (n as f32 + 1.0),
            };
            if mom > 0.0 {
                for c in 0..cout {
                    run_mean[c] = (1.0 - mom) * run_mean[c] + mom * mean[c] as f32;
                    run_var[c] = (1.0 - mom) * run_var[c] + mom * (var[c] * unbias) as f32;
                }
            }
            // Phase 3: normalise, pool, quantize.
            let meanf: Vec<f32> = mean.iter().map(|&m| m as f32).collect();
            let (gamma, beta, act, pool) = (&gamma.v, &beta.v, *act, layer.pool);
            let p3 = par_map(p2, |_, (patches, mut z, _)| {
                let imgs = patches.len() / (per_img * k);
                let mut y = Vec::with_capacity(z.len());
                for xr in z.chunks_exact_mut(cout) {
                    for c in 0..cout {
                        let h = (xr[c] - meanf[c]) * invstd[c];
                        xr[c] = h;
                        y.push(gamma[c] * h + beta[c]);
                    }
                }
                let (yp, pool_idx) = if pool { maxpool(&y, imgs, oh, ow, cout) } else { (y, vec![]) };
                let (ste, out) = if float_mode {
                    (vec![true; yp.len()], yp)
                } else {
                    let vs = act.value_scale();
                    let ste: Vec<bool> = yp.iter().map(|&v| act.ste(v)).collect();
                    let out: Vec<f32> = yp.iter().map(|&v| act.int_of_level(act.level_f32(v)) as f32 * vs).collect();
                    (ste, out)
                };
                (PieceCache { patches, xhat: z, pool_idx, ste }, out)
            });
            let mut pieces = vec![];
            xs = vec![];
            for (pc, out) in p3 {
                pieces.push(pc);
                xs.push(out);
            }
            caches.push(LayerCache { wq, invstd, pieces });
        }
        unreachable!("the last layer is a logit layer")
    }

    /// Backward pass from the gradient of the loss with respect to the logits. Sets every `Param::g`.
    pub fn backward(&mut self, fwd: Forward, dlogits: &[f32]) {
        let batch = fwd.batch;
        let ranges = piece_ranges(batch);
        let classes = self.classes();
        let mut grads: Vec<Vec<f32>> = ranges.iter().map(|r| dlogits[r.start * classes..r.end * classes].to_vec()).collect();
        for (li, (layer, cache)) in self.layers.iter_mut().zip(fwd.caches).enumerate().rev() {
            let g = layer.geom;
            let (oh, ow, k, cout) = (g.oh(), g.ow(), g.k(), layer.cout);
            let per_img = oh * ow;
            let rows = batch * per_img;
            let LayerCache { wq, invstd, pieces } = cache;
            // dz: gradient with respect to the accumulator (pre batch norm / pre scale), per piece.
            let dzs: Vec<Vec<f32>> = match &mut layer.head {
                Head::Logits { log_scale, bias } => {
                    let s = log_scale.v[0].exp();
                    bias.g.fill(0.0);
                    let mut dls = 0f64;
                    for (grad, pc) in grads.iter().zip(&pieces) {
                        for (i, &d) in grad.iter().enumerate() {
                            bias.g[i % cout] += d;
                            dls += (d * pc.xhat[i]) as f64;
                        }
                    }
                    log_scale.g[0] = (dls * s as f64) as f32;
                    grads.iter().map(|gr| gr.iter().map(|&d| d * s).collect()).collect()
                }
                Head::Hidden { gamma, beta, .. } => {
                    let pool = layer.pool;
                    // Activation STE, un-pool, partial batch-norm sums.
                    let items: Vec<(Vec<f32>, &PieceCache)> = grads.into_iter().zip(&pieces).collect();
                    let p1 = par_map(items, |_, (mut grad, pc)| {
                        for (d, &m) in grad.iter_mut().zip(&pc.ste) {
                            if !m {
                                *d = 0.0;
                            }
                        }
                        let dy = if pool {
                            let mut dy = vec![0f32; pc.xhat.len()];
                            for (&i, &d) in pc.pool_idx.iter().zip(&grad) {
                                dy[i as usize] += d;
                            }
                            dy
                        } else {
                            grad
                        };
                        let mut sdy = vec![0f64; cout];
                        let mut sdyx = vec![0f64; cout];
                        for (dr, xr) in dy.chunks_exact(cout).zip(pc.xhat.chunks_exact(cout)) {
                            for c in 0..cout {
                                sdy[c] += dr[c] as f64;
                                sdyx[c] += (dr[c] * xr[c]) as f64;
                            }
                        }
                        (dy, sdy, sdyx)
                    });
                    let mut sdy = vec![0f64; cout];
                    let mut sdyx = vec![0f64; cout];
                    for (_, a, b) in &p1 {
                        for c in 0..cout {
                            sdy[c] += a[c];
                            sdyx[c] += b[c];
                        }
                    }
                    for c in 0..cout {
                        beta.g[c] = sdy[c] as f32;
                        gamma.g[c] = sdyx[c] as f32;
                    }
                    let m = rows as f32;
                    let coef: Vec<f32> = (0..cout).map(|c| gamma.v[c] * invstd[c] / m).collect();
                    let (sdyf, sdyxf): (Vec<f32>, Vec<f32>) = (sdy.iter().map(|&v| v as f32).collect(), sdyx.iter().map(|&v| v as f32).collect());
                    let items: Vec<(Vec<f32>, &PieceCache)> = p1.into_iter().map(|(dy, ..)| dy).zip(&pieces).collect();
                    par_map(items, |_, (mut dz, pc)| {
                        for (dr, xr) in dz.chunks_exact_mut(cout).zip(pc.xhat.chunks_exact(cout)) {
                            for c in 0..cout {
                                dr[c] = coef[c] * (m * dr[c] - sdyf[c] - xr[c] * sdyxf[c]);
                            }
                        }
                        dz
                    })
                }
            };
            // Weight-gradient partials and input gradients per piece; partials added in piece order.
            let need_dx = li > 0;
            let items: Vec<(Vec<f32>, &PieceCache)> = dzs.into_iter().zip(&pieces).collect();
            let wv = &wq.values;
            let res = par_map(items, |_, (dz, pc)| {
                let prow = dz.len() / cout;
                let mut dw = vec![0f32; cout * k];
                sgemm_atb(prow, cout, k, &dz, &pc.patches, 0.0, &mut dw);
                let dx = if !need_dx {
                    vec![]
                } else if g.is_full() {
                    sgemm_ab_new(prow, cout, k, &dz, wv)
                } else {
                    let dp = sgemm_ab_new(prow, cout, k, &dz, wv);
                    let mut dx = vec![0f32; prow / per_img * g.in_len()];
                    g.col2im(&dp, &mut dx);
                    dx
                };
                (dw, dx)
            });
            let mut dw: Option<Vec<f32>> = None;
            grads = vec![];
            for (pdw, dx) in res {
                match &mut dw {
                    None => dw = Some(pdw),
                    Some(acc) => acc.iter_mut().zip(&pdw).for_each(|(a, b)| *a += b),
                }
                grads.push(dx);
            }
            let mut dw = dw.expect("pieces");
            for (d, &m) in dw.iter_mut().zip(&wq.ste) {
                if !m {
                    *d = 0.0;
                }
            }
            layer.w.g = dw;
        }
    }

    /// One Adam step on every parameter. Bipolar latent weights are clipped to [-1, 1]; weight decay
    /// applies to multi-bit weights only.
    pub fn adam_step(&mut self, lr: f32, t: i32, wd: f32) {
        for l in &mut self.layers {
            let (clip, wd) = if l.wbits == 1 { (Some(1.0), 0.0) } else { (None, wd) };
            l.w.adam(lr, t, wd, clip);
            match &mut l.head {
                Head::Hidden { gamma, beta, .. } => {
                    gamma.adam(lr, t, 0.0, None);
                    beta.adam(lr, t, 0.0, None);
                }
                Head::Logits { log_scale, bias } => {
                    log_scale.adam(lr, t, 0.0, None);
                    bias.adam(lr, t, 0.0, None);
                }
            }
        }
    }

    /// All parameters, in a fixed order (for tests and checks).
    pub fn params_mut(&mut self) -> Vec<&mut Param> {
        let mut v = vec![];
        for l in &mut self.layers {
            v.push(&mut l.w);
            match &mut l.head {
                Head::Hidden { gamma, beta, .. } => {
                    v.push(gamma);
                    v.push(beta);
                }
                Head::Logits { log_scale, bias } => {
                    v.push(log_scale);
                    v.push(bias);
                }
            }
        }
        v
    }

    /// The exact integer eval-mode network of the current parameters and running statistics.
    pub fn int_net(&self) -> IntNet {
        let mut layers = vec![];
        for l in &self.layers {
            let wq = l.quant_weights();
            let kind = match &l.head {
                Head::Hidden { gamma, beta, run_mean, run_var, act } => {
                    let mut a = vec![];
                    let mut b = vec![];
                    for c in 0..l.cout {
                        let inv = gamma.v[c] as f64 / (run_var[c] as f64 + BN_EPS as f64).sqrt();
                        a.push(wq.scales[c] as f64 * l.in_scale as f64 * inv);
                        b.push(beta.v[c] as f64 - run_mean[c] as f64 * inv);
                    }
                    IntKind::Hidden(LevelFn { a, b, act: *act })
                }
                Head::Logits { log_scale, bias } => IntKind::Logits {
                    scale: log_scale.v[0].exp() as f64 * wq.scales[0] as f64 * l.in_scale as f64,
                    bias: bias.v.iter().map(|&b| b as f64).collect(),
                },
            };
            layers.push(IntLayer { geom: l.geom, cout: l.cout, pool: l.pool, is_conv: l.is_conv, wint: wq.ints, wbits: l.wbits, kind });
        }
        IntNet { input: self.input, layers }
    }
}

/// Unquantized weights in the shape of [`QuantWeights`] (gradient checks).
fn float_weights(w: &[f32], rows: usize) -> QuantWeights {
    QuantWeights { ints: vec![0; w.len()], values: w.to_vec(), scales: vec![1.0; rows], ste: vec![true; w.len()] }
}

/// Per-channel sums of `[rows][c]` (or of squared deviations from `mean`), in f64, in row order.
fn channel_sums(z: &[f32], c: usize, mean: Option<&[f64]>) -> Vec<f64> {
    let mut s = vec![0f64; c];
    match mean {
        None => {
            for r in z.chunks_exact(c) {
                for (a, &v) in s.iter_mut().zip(r) {
                    *a += v as f64;
                }
            }
        }
        Some(m) => {
            for r in z.chunks_exact(c) {
                for i in 0..c {
                    let d = r[i] as f64 - m[i];
                    s[i] += d * d;
                }
            }
        }
    }
    s
}

/// 2x2 stride-2 floor max-pool of `[b][h][w][c]`; returns the pooled map and, per pooled element,
/// the index of the (first) maximum.
fn maxpool(y: &[f32], b: usize, h: usize, w: usize, c: usize) -> (Vec<f32>, Vec<u32>) {
    let (ph, pw) = (h / 2, w / 2);
    let mut out = vec![0f32; b * ph * pw * c];
    let mut idx = vec![0u32; b * ph * pw * c];
    let mut o = 0;
    for bi in 0..b {
        for py in 0..ph {
            for px in 0..pw {
                let i00 = ((bi * h + 2 * py) * w + 2 * px) * c;
                let i10 = i00 + w * c;
                let (r00, r01) = (&y[i00..i00 + c], &y[i00 + c..i00 + 2 * c]);
                let (r10, r11) = (&y[i10..i10 + c], &y[i10 + c..i10 + 2 * c]);
                let (vo, io) = (&mut out[o..o + c], &mut idx[o..o + c]);
                for ch in 0..c {
                    let (mut m, mut k) = (r00[ch], i00 + ch);
                    if r01[ch] > m {
                        m = r01[ch];
                        k = i00 + c + ch;
                    }
                    if r10[ch] > m {
                        m = r10[ch];
                        k = i10 + ch;
                    }
                    if r11[ch] > m {
                        m = r11[ch];
                        k = i10 + c + ch;
                    }
                    vo[ch] = m;
                    io[ch] = k as u32;
                }
                o += c;
            }
        }
    }
    (out, idx)
}

/// Class-weighted softmax cross-entropy: `sum_i w_{y_i} * -log p_i(y_i) / sum_i w_{y_i}`.
/// Returns the loss and its gradient with respect to the logits.
pub fn softmax_xent(logits: &[f32], labels: &[u8], class_w: &[f32]) -> (f32, Vec<f32>) {
    softmax_xent_smoothed(logits, labels, class_w, 0.0)
}

/// [`softmax_xent`] against label-smoothed targets `(1 - eps) onehot + eps / classes`.
pub fn softmax_xent_smoothed(logits: &[f32], labels: &[u8], class_w: &[f32], eps: f32) -> (f32, Vec<f32>) {
    let c = class_w.len();
    let eps = eps as f64;
    softmax_xent_targets(logits, labels, class_w, |_, j, y| if j == y { 1.0 - eps } else { 0.0 } + eps / c as f64)
}

/// Two-class [`softmax_xent`] against distillation targets: sample `i`'s target is
/// `(1 - alpha) onehot(y_i) + alpha (1 - t_i, t_i)`, `t_i` the teacher's probability of class 1;
/// samples keep the class weight of their true label.
pub fn softmax_xent_distill(logits: &[f32], labels: &[u8], class_w: &[f32], teacher_p1: &[f32], alpha: f32) -> (f32, Vec<f32>) {
    assert_eq!(class_w.len(), 2, "distillation targets are two-class");
    assert_eq!(teacher_p1.len(), labels.len());
    let alpha = alpha as f64;
    softmax_xent_targets(logits, labels, class_w, |i, j, y| {
        let tp = teacher_p1[i] as f64;
        (1.0 - alpha) * (j == y) as u8 as f64 + alpha * if j == 1 { tp } else { 1.0 - tp }
    })
}

/// Class-weighted softmax cross-entropy against the soft target `target(sample, class, label)`;
/// each sample keeps the class weight of its true label.
fn softmax_xent_targets(logits: &[f32], labels: &[u8], class_w: &[f32], target: impl Fn(usize, usize, usize) -> f64) -> (f32, Vec<f32>) {
    let c = class_w.len();
    let n = labels.len();
    assert_eq!(logits.len(), n * c);
    let wsum: f64 = labels.iter().map(|&l| class_w[l as usize] as f64).sum();
    let mut loss = 0f64;
    let mut grad = vec![0f32; n * c];
    for i in 0..n {
        let z = &logits[i * c..(i + 1) * c];
        let m = z.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
        let e: Vec<f64> = z.iter().map(|&v| ((v - m) as f64).exp()).collect();
        let s: f64 = e.iter().sum();
        let y = labels[i] as usize;
        let w = class_w[y] as f64 / wsum;
        for j in 0..c {
            let p = e[j] / s;
            let t = target(i, j, y);
            if t > 0.0 {
                loss += -w * t * p.ln();
            }
            grad[i * c + j] = (w * (p - t)) as f32;
        }
    }
    (loss as f32, grad)
}

/// Per-channel eval-mode batch norm + activation quantizer as a function of the integer
/// accumulator: `level = act(a_c * acc + b_c)` in f64. The eval forward pass and the exported
/// thresholds both use exactly this function.
#[derive(Clone, Debug)]
pub struct LevelFn {
    pub a: Vec<f64>,
    pub b: Vec<f64>,
    pub act: ActQuant,
}

impl LevelFn {
    #[inline]
    pub fn level(&self, c: usize, acc: i64) -> u32 {
        self.act.level_f64(self.a[c] * acc as f64 + self.b[c])
    }
}

#[derive(Clone, Debug)]
pub enum IntKind {
    Hidden(LevelFn),
    /// Float logit `= scale * acc + bias` (training-graph view; the exported model uses integer
    /// accumulators and a decision offset).
    Logits { scale: f64, bias: Vec<f64> },
}

#[derive(Clone, Debug)]
pub struct IntLayer {
    pub geom: ConvGeom,
    pub cout: usize,
    pub pool: bool,
    pub is_conv: bool,
    /// Integer weights `[cout][k]`.
    pub wint: Vec<i32>,
    pub wbits: u8,
    pub kind: IntKind,
}

/// The quantized eval-mode forward pass on integer codes.
#[derive(Clone, Debug)]
pub struct IntNet {
    pub input: InputQuant,
    pub layers: Vec<IntLayer>,
}

impl IntNet {
    /// Integer logit accumulators (before any bias) of each image, `classes` per image.
    pub fn accumulators(&self, images: &[&[u8]]) -> Vec<Vec<i64>> {
        const CHUNK: usize = 32;
        let wf: Vec<Vec<f64>> = self.layers.iter().map(|l| l.wint.iter().map(|&w| w as f64).collect()).collect();
        let chunks: Vec<&[&[u8]]> = images.chunks(CHUNK).collect();
        let res = par_parts(chunks.len(), |_, r| {
            let mut out = vec![];
            for ch in &chunks[r] {
                out.extend(self.accumulators_chunk(ch, &wf));
            }
            out
        });
        res.into_iter().flatten().collect()
    }

    fn accumulators_chunk(&self, images: &[&[u8]], wf: &[Vec<f64>]) -> Vec<Vec<i64>> {
        let b = images.len();
        let mut x: Vec<f64> = images.iter().flat_map(|img| img.iter().map(|&p| self.input.int(p) as f64)).collect();
        for (l, w) in self.layers.iter().zip(wf) {
            let g = l.geom;
            let (oh, ow, k, cout) = (g.oh(), g.ow(), g.k(), l.cout);
            let rows = b * oh * ow;
            assert_eq!(x.len(), b * g.in_len());
            let patches = if g.is_full() {
                x
            } else {
                let mut p = vec![0f64; rows * k];
                g.im2col(&x, &mut p);
                p
            };
            let mut acc = vec![0f64; rows * cout];
            dgemm_abt(rows, k, cout, &patches, w, &mut acc);
            match &l.kind {
                IntKind::Logits { .. } => {
                    return acc.chunks_exact(cout).map(|r| r.iter().map(|&v| v as i64).collect()).collect();
                }
                IntKind::Hidden(f) => {
                    let mut y: Vec<f64> = Vec::with_capacity(rows * cout);
                    for r in acc.chunks_exact(cout) {
                        for (c, &v) in r.iter().enumerate() {
                            y.push(f.act.int_of_level(f.level(c, v as i64)) as f64);
                        }
                    }
                    x = if l.pool {
                        let (ph, pw) = (oh / 2, ow / 2);
                        let mut p = Vec::with_capacity(b * ph * pw * cout);
                        for bi in 0..b {
                            for py in 0..ph {
                                for px in 0..pw {
                                    let at = |dy: usize, dx: usize| ((bi * oh + 2 * py + dy) * ow + 2 * px + dx) * cout;
                                    for c in 0..cout {
                                        let m = y[at(0, 0) + c].max(y[at(0, 1) + c]).max(y[at(1, 0) + c]).max(y[at(1, 1) + c]);
                                        p.push(m);
                                    }
                                }
                            }
                        }
                        p
                    } else {
                        y
                    };
                }
            }
        }
        unreachable!("the last layer is a logit layer")
    }

    /// `logit[1] - logit[0]` accumulator difference (the score before the decision offset).
    pub fn scores(&self, images: &[&[u8]]) -> Vec<i64> {
        self.accumulators(images).iter().map(|a| a[1] - a[0]).collect()
    }

    /// The logit-layer bias the float training graph implies, in accumulator units, rounded:
    /// `(b1 - b0) / scale`.
    pub fn natural_offset(&self) -> i64 {
        match &self.layers.last().expect("layers").kind {
            IntKind::Logits { scale, bias } => {
                let d = (bias[1] - bias[0]) / scale;
                if d.is_finite() { d.round().clamp(-1e9, 1e9) as i64 } else { 0 }
            }
            _ => 0,
        }
    }
}
