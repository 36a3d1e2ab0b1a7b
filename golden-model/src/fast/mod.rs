//! Fast paths of the matrix-vector ops: bit-packed XNOR-popcount for bipolar x bipolar layers and
//! unsigned-by-signed 8-bit dot products for every other mode (the 8-bit-pixel first layer included),
//! over 16 output channels per wide word, dispatched at run time to the widest instruction set the CPU
//! has ([`Level`]). The plain loops in `ops/` stay the reference; `tests/ops_agree.rs` compares every
//! level with them.
//!
//! Layout (packed once, when a layer is built): the columns of a layer are `segs` segments of
//! `seg_len` elements (a conv's `k` kernel rows of `k * in_ch` values, which are contiguous in an HWC
//! map; a dense layer's single segment), so a window is read straight from the feature map, never
//! copied into an im2col matrix. Each segment is cut into words (32 bits, or 4 bytes), zero-padded at
//! its end. Weight word `i` of output channel `16 g + l` sits at `w[(i * groups + g) * 16 + l]`: one
//! 512-bit load holds the same word of 16 channels, and the activation word is broadcast against it.

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
pub(crate) mod avx512;
pub(crate) mod plan;
mod portable;

use crate::ops::OutputStage;
use crate::value::{ActType, WeightType};
use ndarray::Array2;
use std::sync::OnceLock;

/// Output channels per group: one 512-bit vector of 32-bit accumulators.
pub const LANES: usize = 16;

/// Environment variable that caps the dispatch level, e.g. `QNN_SIMD=avx2` to measure without AVX-512.
pub const ENV: &str = "QNN_SIMD";

/// Instruction-set level of the fast kernels; ordered from narrowest to widest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Plain Rust, any CPU.
    Portable,
    /// AVX2: popcount by nibble table lookup (`vpshufb`), dot products by `vpmaddubsw`.
    Avx2,
    /// AVX-512 F + BW + VL + VPOPCNTDQ + VNNI: `vpopcntd` and `vpdpbusd` on 16 channels at once.
    Avx512,
}

impl Level {
    pub const ALL: [Level; 3] = [Level::Portable, Level::Avx2, Level::Avx512];

    pub fn name(self) -> &'static str {
        match self {
            Level::Portable => "portable",
            Level::Avx2 => "avx2",
            Level::Avx512 => "avx512",
        }
    }

    pub fn parse(s: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.name().eq_ignore_ascii_case(s.trim()))
    }

    /// CPU features the level needs, as `is_x86_feature_detected!` names them.
    pub fn features(self) -> &'static [&'static str] {
        match self {
            Level::Portable => &[],
            Level::Avx2 => &["avx2"],
            Level::Avx512 => &["avx512f", "avx512bw", "avx512vl", "avx512vpopcntdq", "avx512vnni"],
        }
    }

    /// Whether this CPU can run the level.
    pub fn supported(self) -> bool {
        #[cfg(target_arch = "x86_64")]
        {
            match self {
                Level::Portable => true,
                Level::Avx2 => is_x86_feature_detected!("avx2"),
                Level::Avx512 => {
                    is_x86_feature_detected!("avx512f")
                        && is_x86_feature_detected!("avx512bw")
                        && is_x86_feature_detected!("avx512vl")
                        && is_x86_feature_detected!("avx512vpopcntdq")
                        && is_x86_feature_detected!("avx512vnni")
                }
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            self == Level::Portable
        }
    }

    /// Every level this CPU can run, narrowest first.
    pub fn available() -> Vec<Level> {
        Level::ALL.into_iter().filter(|l| l.supported()).collect()
    }

    /// The widest level this CPU can run.
    pub fn detected() -> Level {
        *Level::available().last().expect("portable is always available")
    }

    /// The level [`ENV`] asks for, if set. An unknown name, or a level the CPU cannot run, is an
    /// error that says what to set instead.
    pub fn from_env() -> Result<Option<Level>, String> {
        let Ok(v) = std::env::var(ENV) else { return Ok(None) };
        if v.trim().is_empty() {
            return Ok(None);
        }
        let names: Vec<&str> = Level::ALL.iter().map(|l| l.name()).collect();
        let l = Level::parse(&v)
            .ok_or_else(|| format!("{ENV}={v} is not a SIMD level; use one of {}", names.join(", ")))?;
        if !l.supported() {
            let missing: Vec<&str> = l.features().iter().copied().filter(|f| !feature_detected(f)).collect();
            return Err(format!(
                "{ENV}={v}: this CPU lacks {}; use {} or lower, or unset {ENV}",
                missing.join(", "),
                Level::detected().name()
            ));
        }
        Ok(Some(l))
    }

    /// Level used by `eval` and `infer`: [`ENV`] if set and valid, else [`Level::detected`]. An invalid
    /// [`ENV`] is reported once on stderr and ignored (commands check [`Level::from_env`] first and stop).
    pub fn current() -> Level {
        static CURRENT: OnceLock<Level> = OnceLock::new();
        *CURRENT.get_or_init(|| match Level::from_env() {
            Ok(Some(l)) => l,
            Ok(None) => Level::detected(),
            Err(e) => {
                eprintln!("warning: {e}; using {}", Level::detected().name());
                Level::detected()
            }
        })
    }

    /// Panics on a level this CPU cannot run: running its kernels would be undefined behaviour.
    pub(crate) fn check(self) {
        assert!(self.supported(), "SIMD level {} is not supported by this CPU (needs {:?})", self.name(), self.features());
    }
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

fn feature_detected(name: &str) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        match name {
            "avx2" => is_x86_feature_detected!("avx2"),
            "avx512f" => is_x86_feature_detected!("avx512f"),
            "avx512bw" => is_x86_feature_detected!("avx512bw"),
            "avx512vl" => is_x86_feature_detected!("avx512vl"),
            "avx512vpopcntdq" => is_x86_feature_detected!("avx512vpopcntdq"),
            "avx512vnni" => is_x86_feature_detected!("avx512vnni"),
            _ => false,
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = name;
        false
    }
}

/// How the accumulators are computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Bipolar x bipolar: the kernel counts differing bits `d`; `acc = cols - 2 d`.
    Xnor,
    /// 8-bit codes times signed 8-bit weights. With `bipolar_in` the codes are the encoded bits
    /// `b = (x + 1) / 2` and `acc = 2 dot(b, w) - rowsum(w)`.
    Int8 { bipolar_in: bool },
}

/// What follows the accumulator, padded to whole groups.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Out {
    /// One threshold per channel; the output is the bit `acc >= t`.
    Bipolar(Vec<i32>),
    /// `2^bits - 1` sorted thresholds per channel, `nt` apart; the output is the level.
    /// `by_index` holds the same thresholds as `[(group * nt + i) * LANES + lane]`, so that the
    /// level of 16 channels is `nt` vector comparisons (used while `nt` is small).
    Levels { bits: u8, nt: usize, thresholds: Vec<i32>, by_index: Vec<i32> },
    Bias(Vec<i32>),
}

/// A layer's weights packed for the fast kernels (see the module doc for the layout).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Packed {
    pub kind: Kind,
    pub rows: usize,
    pub groups: usize,
    pub segs: usize,
    pub seg_len: usize,
    /// Words per segment: 32-bit words (Xnor) or 4-byte quads (Int8).
    pub words: usize,
    pub w: Vec<u32>,
    /// Int8 weights split as `w = 16 hi + lo` (`lo` in 0..=15): `vpmaddubsw` saturates its 16-bit pair
    /// sums, which 8-bit codes times weights beyond +-64 can exceed; each half stays far below.
    pub split: Option<(Vec<u32>, Vec<u32>)>,
    /// Per padded channel: sum of the weights (Int8 with bipolar inputs).
    pub rowsum: Vec<i32>,
    pub out: Out,
    /// Bipolar outputs: the thresholds in the domain the fused conv kernel compares in (see
    /// `avx512::conv_bits`), per padded channel.
    pub cmp_thr: Vec<i32>,
}

impl Packed {
    /// Packs `weights` (`[rows][segs * seg_len]`) for inputs of type `in_type`.
    pub fn new(
        in_type: ActType,
        weight_type: WeightType,
        weights: &Array2<i8>,
        output: &OutputStage,
        segs: usize,
    ) -> Packed {
        let (rows, cols) = weights.dim();
        assert!(segs > 0 && cols % segs == 0, "{cols} columns in {segs} segments");
        let seg_len = cols / segs;
        let groups = rows.div_ceil(LANES);
        let padded = groups * LANES;
        let kind = if in_type.is_bipolar() && weight_type.is_bipolar() {
            Kind::Xnor
        } else {
            Kind::Int8 { bipolar_in: in_type.is_bipolar() }
        };
        let per_word = if kind == Kind::Xnor { 32 } else { 4 };
        let words = seg_len.div_ceil(per_word);
        let n_words = segs * words;
        let at = |i: usize, r: usize| (i * groups + r / LANES) * LANES + r % LANES;
        let mut w = vec![0u32; n_words * padded];
        let mut split = None;
        match kind {
            Kind::Xnor => {
                for ((r, c), &v) in weights.indexed_iter() {
                    let (s, e) = (c / seg_len, c % seg_len);
                    if v > 0 {
                        w[at(s * words + e / 32, r)] |= 1 << (e % 32);
                    }
                }
            }
            Kind::Int8 { .. } => {
                let (mut hi, mut lo) = (vec![0u32; w.len()], vec![0u32; w.len()]);
                for ((r, c), &v) in weights.indexed_iter() {
                    let (s, e) = (c / seg_len, c % seg_len);
                    let (i, shift) = (at(s * words + e / 4, r), 8 * (e % 4));
                    w[i] |= (v as u8 as u32) << shift;
                    hi[i] |= ((v >> 4) as u8 as u32) << shift;
                    lo[i] |= ((v & 15) as u8 as u32) << shift;
                }
                let code_max = if in_type.is_bipolar() { 1 } else { in_type.max() as i64 };
                if 2 * code_max * weight_type.max_abs() > i16::MAX as i64 {
                    split = Some((hi, lo));
                }
            }
        }
        let mut rowsum = vec![0i32; padded];
        for (r, row) in weights.rows().into_iter().enumerate() {
            rowsum[r] = row.iter().map(|&v| v as i32).sum();
        }
        let pad = |v: &[i32], fill: i32| {
            let mut p = vec![fill; padded];
            p[..v.len()].copy_from_slice(v);
            p
        };
        let out = match output {
            OutputStage::Bias(b) => Out::Bias(pad(b, 0)),
            OutputStage::Threshold(t) if t.out_type().is_bipolar() => {
                Out::Bipolar(pad(&t.thresholds().column(0).to_vec(), i32::MAX))
            }
            OutputStage::Threshold(t) => {
                let nt = t.out_type().num_thresholds();
                let mut thresholds = vec![i32::MAX; padded * nt];
                let mut by_index = vec![i32::MAX; padded * nt];
                for (r, row) in t.thresholds().rows().into_iter().enumerate() {
                    for (i, &v) in row.iter().enumerate() {
                        thresholds[r * nt + i] = v;
                        by_index[((r / LANES) * nt + i) * LANES + r % LANES] = v;
                    }
                }
                Out::Levels { bits: t.out_type().bits, nt, thresholds, by_index }
            }
        };
        let cmp_thr = match &out {
            Out::Bipolar(t) if kind == Kind::Xnor => {
                // acc = cols - 2 d >= t  <=>  d <= floor((cols - t) / 2); d is in 0..=cols.
                let cols = cols as i64;
                t.iter().map(|&t| (cols - t as i64).div_euclid(2).clamp(-1, cols) as i32).collect()
            }
            Out::Bipolar(t) => t.clone(),
            _ => vec![],
        };
        Packed { kind, rows, groups, segs, seg_len, words, w, split, rowsum, out, cmp_thr }
    }

    pub fn cols(&self) -> usize {
        self.segs * self.seg_len
    }

    /// Words per window (all segments).
    pub fn window_words(&self) -> usize {
        self.segs * self.words
    }

    /// Mask of the valid bits of a segment's last 32-bit word (Xnor).
    pub fn last_mask(&self) -> u32 {
        match self.seg_len % 32 {
            0 => u32::MAX,
            r => (1u32 << r) - 1,
        }
    }

    /// Xnor: differing-bit counts of `n` windows (`win`: `n * window_words()` words, padding bits
    /// zero) into `acc` (`n * groups * LANES`).
    pub fn xnor(&self, level: Level, win: &[u32], n: usize, acc: &mut [i32]) {
        debug_assert_eq!(self.kind, Kind::Xnor);
        let (nw, stride) = (self.window_words(), self.groups * LANES);
        assert!(win.len() >= n * nw && acc.len() >= n * stride);
        match level {
            // SAFETY: `level` was checked against the CPU by the caller (`Level::check`).
            #[cfg(target_arch = "x86_64")]
            Level::Avx512 => unsafe { avx512::xnor(&self.w, self.groups, nw, win, n, acc) },
            #[cfg(target_arch = "x86_64")]
            Level::Avx2 => unsafe { avx2::xnor(&self.w, self.groups, nw, win, n, acc) },
            _ => portable::xnor(&self.w, self.groups, nw, win, n, acc),
        }
    }

    /// Int8: raw dot products of `n` windows whose segments start at byte offsets `offs`
    /// (`n * segs`, none above `reach`) of `buf` into `acc`.
    pub fn int8(&self, level: Level, buf: &[u8], offs: &[u32], reach: usize, n: usize, acc: &mut [i32]) {
        debug_assert!(matches!(self.kind, Kind::Int8 { .. }));
        let stride = self.groups * LANES;
        assert!(offs.len() >= n * self.segs && acc.len() >= n * stride);
        debug_assert!(offs[..n * self.segs].iter().all(|&o| o as usize <= reach));
        assert!(reach + 4 * self.words <= buf.len(), "window reads past the feature map's slack");
        let g = Geometry { groups: self.groups, segs: self.segs, words: self.words };
        match level {
            // SAFETY: as above; every read stays below `reach + 4 words <= buf.len()`.
            #[cfg(target_arch = "x86_64")]
            Level::Avx512 => unsafe { avx512::int8(&self.w, g, buf, offs, n, acc) },
            #[cfg(target_arch = "x86_64")]
            Level::Avx2 => unsafe {
                match &self.split {
                    Some((hi, lo)) => avx2::int8_split(hi, lo, g, buf, offs, n, acc),
                    None => avx2::int8(&self.w, g, buf, offs, n, acc),
                }
            },
            _ => portable::int8(&self.w, g, buf, offs, n, acc),
        }
    }

    /// Xnor reading windows in place from a bit stream whose segments start on bytes: `offs` are
    /// byte offsets (see `avx512::xnor_direct`). AVX-512 only; other levels gather the words first.
    #[cfg(target_arch = "x86_64")]
    pub fn xnor_direct(&self, level: Level, buf: &[u8], offs: &[u32], reach: usize, n: usize, acc: &mut [i32]) {
        assert_eq!(level, Level::Avx512, "in-place XNOR windows are an AVX-512 kernel");
        debug_assert_eq!(self.kind, Kind::Xnor);
        assert!(offs.len() >= n * self.segs && acc.len() >= n * self.groups * LANES);
        debug_assert!(offs[..n * self.segs].iter().all(|&o| o as usize <= reach));
        assert!(reach + 4 * self.words <= buf.len(), "window reads past the feature map's slack");
        let g = Geometry { groups: self.groups, segs: self.segs, words: self.words };
        // SAFETY: `level` was checked against the CPU by the caller; reads bounded as asserted.
        unsafe { avx512::xnor_direct(&self.w, g, self.last_mask(), buf, offs, n, acc) }
    }
}

/// Shape of an Int8 weight block, for the kernels.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Geometry {
    pub groups: usize,
    pub segs: usize,
    pub words: usize,
}
