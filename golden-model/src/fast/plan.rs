//! The network as a sequence of steps over packed feature maps: bits for layers that XNOR-popcount
//! their input, bytes for layers that take 8-bit dot products. Each producer writes the form its
//! consumer reads, so nothing is repacked between layers.
//!
//! A conv directly followed by a max-pool is one step: thresholds are non-decreasing in the
//! accumulator, so `max(q(a), q(b), ...) = q(max(a, b, ...))`, and the step thresholds the pooled
//! accumulator once instead of four times (the conv rows and columns the pool drops are never
//! computed). Property tests compare the result with the unfused reference ops.

use super::{Kind, LANES, Level, Out, Packed};
use crate::model::{Layer, Op};
use crate::ops::{FeatureMap, Shape};
use crate::value::ActType;

/// Bytes every map buffer keeps past its end: unaligned 8-byte reads of the last bits and 4-byte
/// reads past a segment's end stay inside the buffer (their surplus meets zero weights or masks).
const SLACK: usize = 16;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Repr {
    /// One bit per value (1 = +1), HWC order, as one bit stream.
    Bits,
    /// One byte per value: the level, or the encoded bit of a bipolar value.
    Bytes,
}

/// A feature map in the form its consumer reads.
#[derive(Clone, Debug, Default)]
pub(crate) struct Map {
    pub shape: Option<Shape>,
    pub repr: Option<Repr>,
    pub data: Vec<u8>,
}

impl Map {
    fn reset(&mut self, shape: Shape, repr: Repr) {
        let bytes = match repr {
            Repr::Bits => shape.len().div_ceil(8),
            Repr::Bytes => shape.len(),
        };
        self.shape = Some(shape);
        self.repr = Some(repr);
        self.data.clear();
        self.data.resize(bytes + SLACK, 0);
    }

    fn shape(&self) -> Shape {
        self.shape.expect("map written before it is read")
    }

    /// `x` in the form `repr`, values encoded as the hardware does (`ActType::encode`).
    pub fn from_feature_map(x: &FeatureMap, t: ActType, repr: Repr) -> Map {
        let (h, w, c) = x.dim();
        let mut m = Map::default();
        m.reset(Shape::new(h, w, c), repr);
        for (i, &v) in x.iter().enumerate() {
            let code = t.encode(v);
            match repr {
                Repr::Bits => m.data[i / 8] |= (code as u8 & 1) << (i % 8),
                Repr::Bytes => m.data[i] = code as u8,
            }
        }
        m
    }

    pub fn to_feature_map(&self, t: ActType) -> FeatureMap {
        let s = self.shape();
        let v = (0..s.len())
            .map(|i| match self.repr.expect("written") {
                Repr::Bits => t.decode(((self.data[i / 8] >> (i % 8)) & 1) as u32),
                Repr::Bytes => t.decode(self.data[i] as u32),
            })
            .collect();
        FeatureMap::from_shape_vec(s.dim(), v).expect("shape matches length")
    }
}

#[inline]
fn ext32(buf: &[u8], bit: usize) -> u32 {
    let b = bit >> 3;
    let v = u64::from_le_bytes(buf[b..b + 8].try_into().expect("8 bytes"));
    (v >> (bit & 7)) as u32
}

/// ORs the low `n <= 32` bits of `v` into the stream at `bit` (the stream is zeroed first).
#[inline]
fn put_bits(buf: &mut [u8], bit: usize, v: u32, n: usize) {
    let b = bit >> 3;
    let word: &mut [u8; 8] = (&mut buf[b..b + 8]).try_into().expect("8 bytes");
    let mask = if n >= 32 { u32::MAX } else { (1u32 << n) - 1 };
    let x = u64::from_le_bytes(*word) | (((v & mask) as u64) << (bit & 7));
    *word = x.to_le_bytes();
}

/// Reusable buffers of one thread.
#[derive(Clone, Debug, Default)]
pub(crate) struct Scratch {
    a: Map,
    b: Map,
    work: Work,
    pub logits: Vec<i32>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Step {
    /// Input quantizer as a table: code of every pixel value, per channel.
    Quant { table: Vec<[u8; 256]>, repr: Repr },
    /// Stand-alone 2x2 max-pool (not directly after a conv).
    Pool,
    /// Conv (`kernel`) or dense (`None`) layer `layer`, optionally with the following max-pool.
    MatVec { layer: usize, kernel: Option<usize>, pool: bool, out: Option<Repr> },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Plan {
    input: Shape,
    steps: Vec<Step>,
}

fn packed_of(l: &Layer) -> Option<&Packed> {
    match &l.op {
        Op::Conv(c) => Some(c.matvec().packed()),
        Op::Dense(d) => Some(d.matvec().packed()),
        _ => None,
    }
}

/// The form in which a matrix-vector layer reads its input.
pub(crate) fn input_repr(p: &Packed) -> Repr {
    if p.kind == Kind::Xnor { Repr::Bits } else { Repr::Bytes }
}

/// The form in which layer `i`'s output is read: that of the next matrix-vector layer.
fn consumer_repr(layers: &[Layer], i: usize) -> Option<Repr> {
    layers[i + 1..].iter().find_map(packed_of).map(input_repr)
}

impl Plan {
    /// `layers` as validated by `Model::new`.
    pub fn new(input: Shape, layers: &[Layer]) -> Plan {
        let mut steps = vec![];
        let mut i = 0;
        while i < layers.len() {
            let next_is_pool = matches!(layers.get(i + 1).map(|l| &l.op), Some(Op::MaxPool));
            match &layers[i].op {
                Op::InputQuant(q) => {
                    let t = q.out_type();
                    let table = (0..q.channels())
                        .map(|c| std::array::from_fn(|p| t.encode(q.thresholds().apply(c, p as i32)) as u8))
                        .collect();
                    let repr = consumer_repr(layers, i).unwrap_or(Repr::Bytes);
                    steps.push(Step::Quant { table, repr });
                }
                Op::MaxPool => steps.push(Step::Pool),
                Op::Conv(c) => {
                    let skip = usize::from(next_is_pool);
                    let out = consumer_repr(layers, i + skip);
                    steps.push(Step::MatVec { layer: i, kernel: Some(c.kernel()), pool: next_is_pool, out });
                    i += skip;
                }
                Op::Dense(_) => steps.push(Step::MatVec { layer: i, kernel: None, pool: false, out: consumer_repr(layers, i) }),
            }
            i += 1;
        }
        Plan { input, steps }
    }

    /// Logits of one image (`pixels` in HWC order, length checked by the caller) into `s.logits`.
    pub fn run(&self, layers: &[Layer], level: Level, pixels: &[u8], s: &mut Scratch) {
        for step in &self.steps {
            match step {
                Step::Quant { table, repr } => {
                    s.a.reset(self.input, *repr);
                    let c = table.len();
                    match repr {
                        Repr::Bytes if c == 1 => {
                            for (d, &p) in s.a.data.iter_mut().zip(pixels) {
                                *d = table[0][p as usize];
                            }
                        }
                        Repr::Bytes => {
                            for (i, (d, &p)) in s.a.data.iter_mut().zip(pixels).enumerate() {
                                *d = table[i % c][p as usize];
                            }
                        }
                        Repr::Bits => {
                            for (i, &p) in pixels.iter().enumerate() {
                                s.a.data[i / 8] |= (table[i % c][p as usize] & 1) << (i % 8);
                            }
                        }
                    }
                }
                Step::Pool => {
                    pool(&s.a, &mut s.b);
                    std::mem::swap(&mut s.a, &mut s.b);
                }
                Step::MatVec { layer, kernel, pool, out } => {
                    let p = packed_of(&layers[*layer]).expect("matvec step");
                    let Scratch { a, b, work, logits } = s;
                    matvec(p, level, a, *kernel, *pool, *out, b, logits, work);
                    std::mem::swap(&mut s.a, &mut s.b);
                }
            }
        }
    }
}

/// 2x2 max-pool, stride 2, floor: the integer max of bytes, the OR of bits.
fn pool(x: &Map, y: &mut Map) {
    let s = x.shape();
    let (oh, ow, c) = (s.height / 2, s.width / 2, s.channels);
    let repr = x.repr.expect("written");
    y.reset(Shape::new(oh, ow, c), repr);
    let at = |yy: usize, xx: usize| (yy * s.width + xx) * c;
    for oy in 0..oh {
        for ox in 0..ow {
            let src = [at(2 * oy, 2 * ox), at(2 * oy, 2 * ox + 1), at(2 * oy + 1, 2 * ox), at(2 * oy + 1, 2 * ox + 1)];
            let dst = (oy * ow + ox) * c;
            match repr {
                Repr::Bytes => {
                    for ch in 0..c {
                        y.data[dst + ch] = src.iter().map(|&o| x.data[o + ch]).max().expect("four");
                    }
                }
                Repr::Bits => {
                    for ch in (0..c).step_by(32) {
                        let v = src.iter().fold(0, |m, &o| m | ext32(&x.data, o + ch));
                        put_bits(&mut y.data, dst + ch, v, (c - ch).min(32));
                    }
                }
            }
        }
    }
}

/// Buffers of [`matvec`], reused between calls.
#[derive(Clone, Debug, Default)]
pub(crate) struct Work {
    win: Vec<u32>,
    offs: Vec<u32>,
    acc: Vec<i32>,
}

/// Applies `p` to map `x` as a `kernel` x `kernel` conv (or, with `None`, to the flattened map as a
/// matrix-vector product whose segments are contiguous), with the following max-pool if `pool`.
/// Thresholded outputs go to `y` in form `out`, logits to `logits`.
///
/// The glue around the kernels (window gathering, pooling, thresholds) is compiled once per level
/// with that level's target features, so that its 16-lane loops vectorise as wide as the kernels.
#[allow(clippy::too_many_arguments)]
pub(crate) fn matvec(
    p: &Packed,
    level: Level,
    x: &Map,
    kernel: Option<usize>,
    pool: bool,
    out: Option<Repr>,
    y: &mut Map,
    logits: &mut Vec<i32>,
    work: &mut Work,
) {
    match level {
        // SAFETY: callers check `level` against the CPU (`Level::check`).
        #[cfg(target_arch = "x86_64")]
        Level::Avx512 => unsafe { matvec_avx512(p, level, x, kernel, pool, out, y, logits, work) },
        #[cfg(target_arch = "x86_64")]
        Level::Avx2 => unsafe { matvec_avx2(p, level, x, kernel, pool, out, y, logits, work) },
        _ => matvec_impl::<false>(p, level, x, kernel, pool, out, y, logits, work),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vpopcntdq,avx512vnni")]
#[allow(clippy::too_many_arguments)]
unsafe fn matvec_avx512(p: &Packed, level: Level, x: &Map, kernel: Option<usize>, pool: bool, out: Option<Repr>, y: &mut Map, logits: &mut Vec<i32>, work: &mut Work) {
    matvec_impl::<true>(p, level, x, kernel, pool, out, y, logits, work)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[allow(clippy::too_many_arguments)]
unsafe fn matvec_avx2(p: &Packed, level: Level, x: &Map, kernel: Option<usize>, pool: bool, out: Option<Repr>, y: &mut Map, logits: &mut Vec<i32>, work: &mut Work) {
    matvec_impl::<false>(p, level, x, kernel, pool, out, y, logits, work)
}

/// `AVX512`: the caller runs with AVX-512 enabled, so the epilogue may use its mask compares and gathers.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn matvec_impl<const AVX512: bool>(
    p: &Packed,
    level: Level,
    x: &Map,
    kernel: Option<usize>,
    pool: bool,
    out: Option<Repr>,
    y: &mut Map,
    logits: &mut Vec<i32>,
    work: &mut Work,
) {
    let s = x.shape();
    let (conv_h, conv_w) = match kernel {
        Some(k) => (s.height - k + 1, s.width - k + 1),
        None => (1, 1),
    };
    let (oh, ow) = if pool { (conv_h / 2, conv_w / 2) } else { (conv_h, conv_w) };
    let rows = p.rows;
    let per_out = if pool { 4 } else { 1 };
    match (&p.out, out) {
        (Out::Bias(_), _) => {
            logits.clear();
            logits.resize(p.groups * LANES, 0);
        }
        (Out::Levels { .. }, _) => y.reset(Shape::new(oh, ow, rows), Repr::Bytes),
        (Out::Bipolar(_), r) => y.reset(Shape::new(oh, ow, rows), r.unwrap_or(Repr::Bits)),
    }
    #[cfg(target_arch = "x86_64")]
    if AVX512 && let Some(k) = kernel && fused_conv(p, x, k, pool, oh, ow, y) {
        return;
    }
    let stride = p.groups * LANES;
    let n = ow * per_out;
    let nw = p.window_words();
    let last_mask = p.last_mask();
    let Work { win, offs, acc } = work;
    acc.resize(n * stride, 0);
    win.resize(n * nw, 0);
    // Element offsets of the window segments of one output row, relative to the row's first input
    // element; row `oy` starts `oy * row_step` elements further.
    let (c, seg_step) = match kernel {
        Some(_) => (s.channels, s.width * s.channels),
        None => (0, p.seg_len),
    };
    offs.clear();
    for ox in 0..ow {
        for q in 0..per_out {
            let (dy, cx) = if pool { (q / 2, 2 * ox + q % 2) } else { (0, ox) };
            let base = (dy * s.width + cx) * c;
            offs.extend((0..p.segs).map(|seg| (base + seg * seg_step) as u32));
        }
    }
    let row_step = if kernel.is_some() { seg_step * if pool { 2 } else { 1 } } else { 0 };
    let mut reach = offs.iter().max().map_or(0, |&o| o as usize) + (oh - 1) * row_step;
    // With AVX-512, bit streams whose segments all start on a byte are read in place.
    let direct = AVX512 && p.kind == Kind::Xnor && row_step % 8 == 0 && offs.iter().all(|&o| o % 8 == 0);
    if direct {
        offs.iter_mut().for_each(|o| *o /= 8);
        reach /= 8;
    }
    for oy in 0..oh {
        let row = oy * row_step;
        match p.kind {
            #[cfg(target_arch = "x86_64")]
            Kind::Xnor if direct => p.xnor_direct(level, &x.data[row / 8..], offs, reach - row / 8, n, acc),
            Kind::Xnor => {
                assert!(reach + 32 * p.words + 64 <= x.data.len() * 8, "window reads past the feature map's slack");
                for (w, &o) in win.chunks_exact_mut(p.words).zip(offs.iter()) {
                    let at = row + o as usize;
                    for (j, wj) in w.iter_mut().enumerate() {
                        // SAFETY: `at + 32 j + 64 <= reach + 32 words + 64 <= bits of x` (asserted).
                        *wj = unsafe { ext32_unchecked(&x.data, at + 32 * j) };
                    }
                    w[p.words - 1] &= last_mask;
                }
                p.xnor(level, win, n, acc);
            }
            Kind::Int8 { .. } => {
                debug_assert_eq!(x.repr, Some(Repr::Bytes), "int8 layers read bytes");
                p.int8(level, &x.data[row..], offs, reach - row, n, acc);
            }
        }
        for ox in 0..ow {
            let dst = (oy * ow + ox) * rows;
            let px = &acc[ox * per_out * stride..(ox + 1) * per_out * stride];
            epilogue::<AVX512>(p, px, per_out, dst, y, logits);
        }
    }
    if let Out::Bias(_) = p.out {
        logits.truncate(rows);
    }
}

/// Binarized conv (+ pool) layers in one pass of `avx512::conv_bits` when their input pixels start
/// on bytes and their output is read as bits; false (nothing done) for the other layers.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn fused_conv(p: &Packed, x: &Map, k: usize, pool: bool, oh: usize, ow: usize, y: &mut Map) -> bool {
    let s = x.shape();
    let px = match p.kind {
        Kind::Xnor if s.channels.is_multiple_of(8) => s.channels / 8,
        Kind::Int8 { bipolar_in: false } => s.channels,
        _ => return false,
    };
    if !matches!(p.out, Out::Bipolar(_)) || y.repr != Some(Repr::Bits) || oh == 0 || ow == 0 {
        return false;
    }
    debug_assert_eq!(p.segs, k);
    let row = s.width * px;
    let seg_offs: Vec<usize> = (0..k).map(|r| r * row).collect();
    let (win_offs, step) = if pool { ([0, px, row, row + px], 2) } else { ([0; 4], 1) };
    let c = super::avx512::ConvBits {
        seg_offs: &seg_offs,
        words: p.words,
        last_mask: if p.kind == Kind::Xnor { p.last_mask() } else { u32::MAX },
        win_offs,
        x_step: step * px,
        y_step: step * row,
        oh,
        ow,
        rows: p.rows,
    };
    let reach = (oh - 1) * c.y_step + (ow - 1) * c.x_step + win_offs[3] + seg_offs[k - 1] + 4 * p.words;
    assert!(reach <= x.data.len(), "window reads past the feature map's slack");
    assert!(p.rows <= p.groups * LANES && p.cmp_thr.len() == p.groups * LANES);
    // SAFETY: `matvec_impl::<true>` runs only inside `matvec_avx512` (the CPU has the features);
    // reads end at `reach <= x.data.len()` (asserted) and `y` was just sized for the outputs with
    // its slack.
    unsafe {
        match (p.kind == Kind::Xnor, pool) {
            (true, true) => super::avx512::conv_bits::<true, 4>(&p.w, p.groups, &p.cmp_thr, &c, &x.data, &mut y.data),
            (true, false) => super::avx512::conv_bits::<true, 1>(&p.w, p.groups, &p.cmp_thr, &c, &x.data, &mut y.data),
            (false, true) => super::avx512::conv_bits::<false, 4>(&p.w, p.groups, &p.cmp_thr, &c, &x.data, &mut y.data),
            (false, false) => super::avx512::conv_bits::<false, 1>(&p.w, p.groups, &p.cmp_thr, &c, &x.data, &mut y.data),
        }
    }
    true
}

/// Pools the accumulators of one output pixel (`per_out` conv pixels, `stride` apart in `px`),
/// applies the output stage and writes the result at element `dst` of `y` (or into `logits`).
#[inline(always)]
fn epilogue<const AVX512: bool>(p: &Packed, px: &[i32], per_out: usize, dst: usize, y: &mut Map, logits: &mut [i32]) {
    for g in 0..p.groups {
        let lanes = (p.rows - g * LANES).min(LANES);
        #[cfg(target_arch = "x86_64")]
        if AVX512 && let Out::Bipolar(thr) = &p.out {
            // The hot path of binarized networks, without a round trip of the accumulators through memory.
            let stride = p.groups * LANES;
            // SAFETY: `AVX512` is only set inside `matvec_avx512`, which has the features.
            let bits = unsafe { super::avx512::pooled_bits(px, per_out, stride, g, p.kind, p.cols() as i32, &p.rowsum, thr) };
            write_bits(y, dst + g * LANES, bits, lanes);
            continue;
        }
        let t = pooled::<AVX512>(p, px, per_out, g);
        match &p.out {
            Out::Bias(b) => {
                for l in 0..LANES {
                    logits[g * LANES + l] = t[l].wrapping_add(b[g * LANES + l]);
                }
            }
            Out::Bipolar(thr) => {
                let thr: &[i32; LANES] = thr[g * LANES..][..LANES].try_into().expect("16 lanes");
                let bits = ge_mask::<AVX512>(&t, thr);
                write_bits(y, dst + g * LANES, bits, lanes);
            }
            Out::Levels { bits, nt, thresholds, by_index } => {
                let mut q = [0u8; LANES];
                if *nt <= 15 {
                    let mut qi = [0i32; LANES];
                    for th in by_index[g * nt * LANES..(g + 1) * nt * LANES].chunks_exact(LANES) {
                        for l in 0..LANES {
                            qi[l] += (t[l] >= th[l]) as i32;
                        }
                    }
                    for l in 0..LANES {
                        q[l] = qi[l] as u8;
                    }
                } else {
                    levels::<AVX512>(&t, thresholds, g * LANES, *nt, *bits, &mut q);
                }
                y.data[dst + g * LANES..dst + g * LANES + lanes].copy_from_slice(&q[..lanes]);
            }
        }
    }
}

/// Bipolar outputs `bits` of `lanes` channels from element `at`: bits or bytes, as `y` holds them.
#[inline(always)]
fn write_bits(y: &mut Map, at: usize, bits: u32, lanes: usize) {
    match y.repr {
        Some(Repr::Bits) if lanes == LANES && at.is_multiple_of(8) => {
            y.data[at / 8..at / 8 + 2].copy_from_slice(&(bits as u16).to_le_bytes());
        }
        Some(Repr::Bits) => put_bits(&mut y.data, at, bits, lanes),
        _ => {
            for l in 0..lanes {
                y.data[at + l] = ((bits >> l) & 1) as u8;
            }
        }
    }
}

/// Accumulators of group `g` of one output pixel, pooled and in the dot-product domain.
#[inline(always)]
fn pooled<const AVX512: bool>(p: &Packed, px: &[i32], per_out: usize, g: usize) -> [i32; LANES] {
    let stride = p.groups * LANES;
    let cols = p.cols() as i32;
    #[cfg(target_arch = "x86_64")]
    if AVX512 {
        // SAFETY: `AVX512` is only set inside `matvec_avx512`, which has the features.
        return unsafe { super::avx512::pooled(px, per_out, stride, g, p.kind, cols, &p.rowsum) };
    }
    let mut t = [i32::MIN; LANES];
    for q in 0..per_out {
        let a: &[i32; LANES] = px[q * stride + g * LANES..][..LANES].try_into().expect("16 lanes");
        for l in 0..LANES {
            let v = match p.kind {
                Kind::Xnor => cols - 2 * a[l],
                Kind::Int8 { bipolar_in: true } => a[l].wrapping_mul(2).wrapping_sub(p.rowsum[g * LANES + l]),
                Kind::Int8 { bipolar_in: false } => a[l],
            };
            t[l] = t[l].max(v);
        }
    }
    t
}

#[inline(always)]
fn ge_mask<const AVX512: bool>(t: &[i32; LANES], thr: &[i32; LANES]) -> u32 {
    #[cfg(target_arch = "x86_64")]
    if AVX512 {
        // SAFETY: `AVX512` is only set inside `matvec_avx512`, which has the features.
        return unsafe { super::avx512::ge_mask(t, thr) };
    }
    let mut bits = 0u32;
    for l in 0..LANES {
        bits |= ((t[l] >= thr[l]) as u32) << l;
    }
    bits
}

/// Levels of the 16 channels from `c0` (`nt` sorted thresholds each).
#[inline(always)]
fn levels<const AVX512: bool>(t: &[i32; LANES], thresholds: &[i32], c0: usize, nt: usize, bits: u8, q: &mut [u8; LANES]) {
    #[cfg(target_arch = "x86_64")]
    if AVX512 {
        // SAFETY: as in `ge_mask`.
        return unsafe { super::avx512::levels_gather(t, thresholds, c0, nt, bits, q) };
    }
    for l in 0..LANES {
        let ch = c0 + l;
        q[l] = level_of(&thresholds[ch * nt..(ch + 1) * nt], t[l], bits);
    }
}

/// [`ext32`] without the bounds check.
///
/// # Safety
/// `bit / 8 + 8 <= buf.len()`.
#[inline(always)]
unsafe fn ext32_unchecked(buf: &[u8], bit: usize) -> u32 {
    debug_assert!(bit / 8 + 8 <= buf.len());
    // SAFETY: by the caller's contract.
    let v = unsafe { (buf.as_ptr().add(bit >> 3) as *const u64).read_unaligned() };
    (u64::from_le(v) >> (bit & 7)) as u32
}

/// Number of sorted thresholds (`2^bits - 1` of them) that `acc` reaches, by binary lifting.
#[inline]
fn level_of(t: &[i32], acc: i32, bits: u8) -> u8 {
    let mut q = 0usize;
    let mut step = 1usize << (bits - 1);
    while step > 0 {
        q += step * usize::from(acc >= t[q + step - 1]);
        step >>= 1;
    }
    q as u8
}
