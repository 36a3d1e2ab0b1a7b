//! AVX-512 kernels: `vpopcntd` (VPOPCNTDQ) and `vpdpbusd` (VNNI) on 16 channels per instruction.
//! A tile is `G` channel groups of `P` pixels (`G * P <= 8` accumulators, all in registers): each
//! weight vector is loaded once per tile and each activation word broadcast once per pixel.

// Tiles index their register arrays with loops over constant bounds: those unroll fully and keep
// the arrays in registers, which iterator chains over several arrays at once do not promise.
#![allow(clippy::needless_range_loop)]

use super::{Geometry, LANES};
use std::arch::x86_64::*;

/// `(G, P)` of the tiles for `groups` channel groups: as many pixels as keep 8 accumulators busy.
fn tile_shape(groups: usize) -> (usize, usize) {
    match groups {
        1 => (1, 8),
        2 | 3 => (2, 4),
        4..=7 => (4, 2),
        _ => (8, 1),
    }
}

/// Calls `$f::<G, P>($args)` for the runtime `(g, p)`, one of the shapes `tile_shape` and its
/// remainders produce.
macro_rules! tile {
    ($f:ident, $g:expr, $p:expr, ($($arg:expr),*)) => {
        match ($g, $p) {
            (8, _) => $f::<8, 1>($($arg),*),
            (4, 2) => $f::<4, 2>($($arg),*),
            (4, _) => $f::<4, 1>($($arg),*),
            (2, 4) => $f::<2, 4>($($arg),*),
            (2, _) => $f::<2, 1>($($arg),*),
            (1, 8) => $f::<1, 8>($($arg),*),
            _ => $f::<1, 1>($($arg),*),
        }
    };
}

/// Runs `$body(g0, gg, p0, pp)` over the tiles of `n` pixels x `groups` groups.
macro_rules! over_tiles {
    ($groups:expr, $n:expr, |$g0:ident, $gg:ident, $p0:ident, $pp:ident| $body:expr) => {{
        let (gb, pb) = tile_shape($groups);
        let mut $p0 = 0;
        while $p0 < $n {
            let $pp = if $n - $p0 >= pb { pb } else { 1 };
            let mut $g0 = 0;
            while $g0 < $groups {
                let left = $groups - $g0;
                let $gg = if left >= gb { gb } else if left >= 4 { 4 } else if left >= 2 { 2 } else { 1 };
                if $pp == 1 || $gg == gb {
                    $body;
                } else {
                    for p1 in $p0..$p0 + $pp {
                        let ($p0, $pp) = (p1, 1);
                        $body;
                    }
                }
                $g0 += $gg;
            }
            $p0 += $pp;
        }
    }};
}

/// # Safety
/// The CPU must have the features of `Level::Avx512`; slices as in `Packed::xnor`.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vpopcntdq,avx512vnni")]
pub unsafe fn xnor(w: &[u32], groups: usize, nw: usize, win: &[u32], n: usize, acc: &mut [i32]) {
    let stride = groups * LANES;
    assert!(w.len() >= nw * stride && win.len() >= n * nw && acc.len() >= n * stride);
    // SAFETY: every tile stays inside `w`, `win` and `acc` (asserted sizes).
    over_tiles!(groups, n, |g0, gg, p0, pp| unsafe {
        tile!(xnor_tile, gg, pp, (w, stride, g0, &win[p0 * nw..], nw, &mut acc[p0 * stride..]))
    });
}

#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vpopcntdq,avx512vnni")]
unsafe fn xnor_tile<const G: usize, const P: usize>(w: &[u32], stride: usize, g0: usize, win: &[u32], nw: usize, out: &mut [i32]) {
    let mut a = [[_mm512_setzero_si512(); G]; P];
    let (wp, xp) = (w.as_ptr(), win.as_ptr());
    // Index loops over the constant G and P unroll fully, which keeps `a` in registers.
    for i in 0..nw {
        // SAFETY: `i * stride + (g0 + G) * LANES <= nw * stride <= w.len()`; `win` holds P windows.
        let row = unsafe { wp.add(i * stride + g0 * LANES) };
        let mut wv = [_mm512_setzero_si512(); G];
        for k in 0..G {
            wv[k] = unsafe { _mm512_loadu_si512(row.add(k * LANES) as *const __m512i) };
        }
        for pi in 0..P {
            let xb = _mm512_set1_epi32(unsafe { *xp.add(pi * nw + i) } as i32);
            for k in 0..G {
                a[pi][k] = _mm512_add_epi32(a[pi][k], _mm512_popcnt_epi32(_mm512_xor_si512(xb, wv[k])));
            }
        }
    }
    store(a, stride, g0, out);
}

#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vpopcntdq,avx512vnni")]
fn store<const G: usize, const P: usize>(a: [[__m512i; G]; P], stride: usize, g0: usize, out: &mut [i32]) {
    assert!(out.len() >= (P - 1) * stride + (g0 + G) * LANES);
    let op = out.as_mut_ptr();
    for (pi, ap) in a.iter().enumerate() {
        for (k, ak) in ap.iter().enumerate() {
            // SAFETY: asserted above.
            unsafe { _mm512_storeu_si512(op.add(pi * stride + (g0 + k) * LANES) as *mut __m512i, *ak) };
        }
    }
}

/// # Safety
/// As [`xnor`]; every `offs[..] + 4 * words` must be within `buf`.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vpopcntdq,avx512vnni")]
pub unsafe fn int8(w: &[u32], g: Geometry, buf: &[u8], offs: &[u32], n: usize, acc: &mut [i32]) {
    let stride = g.groups * LANES;
    assert!(w.len() >= g.segs * g.words * stride && offs.len() >= n * g.segs && acc.len() >= n * stride);
    // SAFETY: tiles stay inside `w`, `offs` and `acc`; reads of `buf` are bounded by the caller.
    over_tiles!(g.groups, n, |g0, gg, p0, pp| unsafe {
        tile!(int8_tile, gg, pp, (w, g, g0, buf, &offs[p0 * g.segs..], &mut acc[p0 * stride..]))
    });
}

#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vpopcntdq,avx512vnni")]
unsafe fn int8_tile<const G: usize, const P: usize>(w: &[u32], g: Geometry, g0: usize, buf: &[u8], offs: &[u32], out: &mut [i32]) {
    let stride = g.groups * LANES;
    let mut a = [[_mm512_setzero_si512(); G]; P];
    let (wp, bp) = (w.as_ptr(), buf.as_ptr());
    let mut i = 0;
    for seg in 0..g.segs {
        let mut base = [bp; P];
        for pi in 0..P {
            // SAFETY: `offs[..] + 4 * words <= buf.len()` (checked by the caller).
            base[pi] = unsafe { bp.add(offs[pi * g.segs + seg] as usize) };
        }
        for j in 0..g.words {
            // SAFETY: weight rows as in `xnor_tile`; reads of `buf` as above.
            let row = unsafe { wp.add(i * stride + g0 * LANES) };
            let mut wv = [_mm512_setzero_si512(); G];
            for k in 0..G {
                wv[k] = unsafe { _mm512_loadu_si512(row.add(k * LANES) as *const __m512i) };
            }
            for pi in 0..P {
                let xb = _mm512_set1_epi32(unsafe { (base[pi].add(4 * j) as *const i32).read_unaligned() });
                for k in 0..G {
                    a[pi][k] = _mm512_dpbusd_epi32(a[pi][k], xb, wv[k]);
                }
            }
            i += 1;
        }
    }
    store(a, stride, g0, out);
}

/// [`xnor`] reading the windows in place: segment `seg` of pixel `p` is `words` 32-bit words at
/// byte offset `offs[p * segs + seg]` of the bit stream `buf`, its last word ANDed with `last_mask`
/// (the bits past the segment belong to the next pixel; the weights' padding bits are zero).
///
/// # Safety
/// As [`int8`].
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vpopcntdq,avx512vnni")]
pub unsafe fn xnor_direct(w: &[u32], g: Geometry, last_mask: u32, buf: &[u8], offs: &[u32], n: usize, acc: &mut [i32]) {
    let stride = g.groups * LANES;
    assert!(w.len() >= g.segs * g.words * stride && offs.len() >= n * g.segs && acc.len() >= n * stride);
    // SAFETY: as in `int8`.
    over_tiles!(g.groups, n, |g0, gg, p0, pp| unsafe {
        tile!(xnor_direct_tile, gg, pp, (w, g, last_mask, g0, buf, &offs[p0 * g.segs..], &mut acc[p0 * stride..]))
    });
}

#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vpopcntdq,avx512vnni")]
unsafe fn xnor_direct_tile<const G: usize, const P: usize>(
    w: &[u32],
    g: Geometry,
    last_mask: u32,
    g0: usize,
    buf: &[u8],
    offs: &[u32],
    out: &mut [i32],
) {
    let stride = g.groups * LANES;
    let mut a = [[_mm512_setzero_si512(); G]; P];
    let (wp, bp) = (w.as_ptr(), buf.as_ptr());
    let mut i = 0;
    for seg in 0..g.segs {
        let mut base = [bp; P];
        for pi in 0..P {
            // SAFETY: `offs[..] + 4 * words <= buf.len()` (checked by the caller).
            base[pi] = unsafe { bp.add(offs[pi * g.segs + seg] as usize) };
        }
        for j in 0..g.words {
            // SAFETY: weight rows as in `xnor_tile`; reads of `buf` as above.
            let row = unsafe { wp.add(i * stride + g0 * LANES) };
            let mut wv = [_mm512_setzero_si512(); G];
            for k in 0..G {
                wv[k] = unsafe { _mm512_loadu_si512(row.add(k * LANES) as *const __m512i) };
            }
            // Only a partial last word needs its mask (and a broadcast from a register); whole
            // words are broadcast straight from memory.
            let masked = j + 1 == g.words && last_mask != u32::MAX;
            for pi in 0..P {
                let x = unsafe { (base[pi].add(4 * j) as *const u32).read_unaligned() };
                let xb = _mm512_set1_epi32((if masked { x & last_mask } else { x }) as i32);
                for k in 0..G {
                    a[pi][k] = _mm512_add_epi32(a[pi][k], _mm512_popcnt_epi32(_mm512_xor_si512(xb, wv[k])));
                }
            }
            i += 1;
        }
    }
    store(a, stride, g0, out);
}

/// Accumulators of group `g` pooled over `per_out` pixels (`stride` apart in `px`), converted to
/// the dot-product domain: `cols - 2 d` (XNOR: the max is at the fewest differing bits),
/// `2 dot - rowsum` (bipolar codes) or the dot itself.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vpopcntdq,avx512vnni")]
pub fn pooled(px: &[i32], per_out: usize, stride: usize, g: usize, kind: super::Kind, cols: i32, rowsum: &[i32]) -> [i32; LANES] {
    assert!(px.len() >= (per_out - 1) * stride + (g + 1) * LANES && rowsum.len() >= (g + 1) * LANES);
    // SAFETY: asserted bounds.
    let ld = |q: usize| unsafe { _mm512_loadu_si512(px.as_ptr().add(q * stride + g * LANES) as *const __m512i) };
    let mut v = ld(0);
    let t = match kind {
        super::Kind::Xnor => {
            for q in 1..per_out {
                v = _mm512_min_epi32(v, ld(q));
            }
            _mm512_sub_epi32(_mm512_set1_epi32(cols), _mm512_add_epi32(v, v))
        }
        super::Kind::Int8 { bipolar_in } => {
            let rs = unsafe { _mm512_loadu_si512(rowsum.as_ptr().add(g * LANES) as *const __m512i) };
            let conv = |v: __m512i| if bipolar_in { _mm512_sub_epi32(_mm512_add_epi32(v, v), rs) } else { v };
            let mut m = conv(v);
            for q in 1..per_out {
                m = _mm512_max_epi32(m, conv(ld(q)));
            }
            m
        }
    };
    let mut out = [0i32; LANES];
    // SAFETY: `out` holds 16 i32.
    unsafe { _mm512_storeu_si512(out.as_mut_ptr() as *mut __m512i, t) };
    out
}

/// [`pooled`] compared with the thresholds `thr[g * 16 ..]`: the output bits of group `g`.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vpopcntdq,avx512vnni")]
#[allow(clippy::too_many_arguments)]
pub fn pooled_bits(px: &[i32], per_out: usize, stride: usize, g: usize, kind: super::Kind, cols: i32, rowsum: &[i32], thr: &[i32]) -> u32 {
    assert!(px.len() >= (per_out - 1) * stride + (g + 1) * LANES && rowsum.len() >= (g + 1) * LANES && thr.len() >= (g + 1) * LANES);
    // SAFETY: asserted bounds.
    let ld = |q: usize| unsafe { _mm512_loadu_si512(px.as_ptr().add(q * stride + g * LANES) as *const __m512i) };
    let th = unsafe { _mm512_loadu_si512(thr.as_ptr().add(g * LANES) as *const __m512i) };
    let mut v = ld(0);
    let t = match kind {
        super::Kind::Xnor => {
            for q in 1..per_out {
                v = _mm512_min_epi32(v, ld(q));
            }
            _mm512_sub_epi32(_mm512_set1_epi32(cols), _mm512_add_epi32(v, v))
        }
        super::Kind::Int8 { bipolar_in: false } => {
            for q in 1..per_out {
                v = _mm512_max_epi32(v, ld(q));
            }
            v
        }
        super::Kind::Int8 { bipolar_in: true } => {
            let rs = unsafe { _mm512_loadu_si512(rowsum.as_ptr().add(g * LANES) as *const __m512i) };
            let conv = |v: __m512i| _mm512_sub_epi32(_mm512_add_epi32(v, v), rs);
            let mut m = conv(v);
            for q in 1..per_out {
                m = _mm512_max_epi32(m, conv(ld(q)));
            }
            m
        }
    };
    _mm512_cmpge_epi32_mask(t, th) as u32
}

/// Channels of one group whose accumulators reach their threshold, as a bit mask.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vpopcntdq,avx512vnni")]
pub fn ge_mask(t: &[i32; LANES], thr: &[i32; LANES]) -> u32 {
    // SAFETY: both arrays hold 16 i32.
    let (t, thr) = unsafe { (_mm512_loadu_si512(t.as_ptr() as *const __m512i), _mm512_loadu_si512(thr.as_ptr() as *const __m512i)) };
    _mm512_cmpge_epi32_mask(t, thr) as u32
}

/// Levels of 16 channels: the number of their `nt` sorted thresholds (`thresholds[c * nt ..]` for
/// channel `c = c0 + lane`) each accumulator reaches, by binary lifting with gathers.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vpopcntdq,avx512vnni")]
pub fn levels_gather(t: &[i32; LANES], thresholds: &[i32], c0: usize, nt: usize, bits: u8, out: &mut [u8; LANES]) {
    assert!(thresholds.len() >= (c0 + LANES) * nt && nt + 1 == 1 << bits);
    // SAFETY: `t` holds 16 i32; gathered indices are below `(c0 + 16) * nt <= thresholds.len()`.
    let acc = unsafe { _mm512_loadu_si512(t.as_ptr() as *const __m512i) };
    let lanes = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    let base = _mm512_mullo_epi32(_mm512_add_epi32(lanes, _mm512_set1_epi32(c0 as i32)), _mm512_set1_epi32(nt as i32));
    let mut q = _mm512_setzero_si512();
    let mut step = 1i32 << (bits - 1);
    while step > 0 {
        let idx = _mm512_add_epi32(_mm512_add_epi32(base, q), _mm512_set1_epi32(step - 1));
        let th = unsafe { _mm512_i32gather_epi32::<4>(idx, thresholds.as_ptr()) };
        q = _mm512_mask_add_epi32(q, _mm512_cmpge_epi32_mask(acc, th), q, _mm512_set1_epi32(step));
        step >>= 1;
    }
    // SAFETY: `out` holds 16 bytes.
    unsafe { _mm_storeu_si128(out.as_mut_ptr() as *mut __m128i, _mm512_cvtepi32_epi8(q)) };
}

/// Where a fused conv (+ pool) reads and writes, for [`conv_bits`]. Offsets are in bytes of the
/// input map (a bit stream whose pixels start on bytes, or one byte per value).
pub struct ConvBits<'a> {
    /// Byte offset of each kernel row's segment from the window's first byte.
    pub seg_offs: &'a [usize],
    /// 4-byte words per segment (its last word may be partial).
    pub words: usize,
    /// Valid bits of a segment's last word (XNOR; `u32::MAX` when whole).
    pub last_mask: u32,
    /// Byte offsets of the `Q` windows pooled into one output (`[0]` without a pool).
    pub win_offs: [usize; 4],
    /// Bytes between the first windows of horizontally and vertically adjacent outputs.
    pub x_step: usize,
    pub y_step: usize,
    pub oh: usize,
    pub ow: usize,
    /// Output channels; output pixel `p`'s bits start at bit `p * rows` of `out`.
    pub rows: usize,
}

/// Conv (+ 2x2 max-pool when `Q == 4`) + binarizing threshold over a whole map, with the
/// accumulators of a tile kept in registers from the first word to the output bits. The output bit
/// is `max_q acc_q >= t`: for XNOR, with `d` the differing bits, `min_q d_q <= thr` (`thr` in that
/// domain, see `Packed::cmp_thr`); for 8-bit codes (`XNOR == false`), `max_q dot_q >= thr`.
/// `out` must be zero where partial groups write.
///
/// # Safety
/// The CPU must have the features of `Level::Avx512`; every read (`win_offs`, `seg_offs`, the
/// steps and 4 bytes per word) must be inside `buf`.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vpopcntdq,avx512vnni")]
pub unsafe fn conv_bits<const XNOR: bool, const Q: usize>(w: &[u32], groups: usize, thr: &[i32], c: &ConvBits, buf: &[u8], out: &mut [u8]) {
    let nw = c.seg_offs.len() * c.words;
    let stride = groups * LANES;
    assert!(w.len() >= nw * stride && thr.len() >= stride && c.rows <= stride);
    assert!(out.len() >= (c.oh * c.ow * c.rows).div_ceil(8) + 4);
    // Outputs per tile: enough accumulators to hide latencies, few enough to keep weights,
    // broadcasts and accumulators in the 32 registers. Narrower group blocks (the remainder of
    // `groups`) use the same outputs, so fewer accumulators.
    let px_full = match (groups.min(4), Q) {
        (4, 4) => 1,
        (2, 4) => 2,
        _ => 4,
    };
    for oy in 0..c.oh {
        let mut ox = 0;
        while ox < c.ow {
            let left = c.ow - ox;
            let px = if left >= px_full { px_full } else if left >= 2 && px_full >= 2 { 2 } else { 1 };
            let at = oy * c.y_step + ox * c.x_step;
            let first = oy * c.ow + ox;
            let mut g0 = 0;
            while g0 < groups {
                let gl = groups - g0;
                let gb = if gl >= 4 { 4 } else if gl >= 2 { 2 } else { 1 };
                // SAFETY: by the caller's contract; `g0 + gb <= groups`, `ox + px <= ow`.
                unsafe {
                    macro_rules! go {
                        ($($g:literal, $p:literal);*) => {
                            match (gb, px) {
                                $(($g, $p) => conv_bits_tile::<XNOR, Q, $g, $p>(w, stride, g0, thr, c, buf, at, first, out),)*
                                _ => unreachable!("block {gb} x {px}"),
                            }
                        };
                    }
                    go!(4, 4; 4, 2; 4, 1; 2, 4; 2, 2; 2, 1; 1, 4; 1, 2; 1, 1)
                }
                g0 += gb;
            }
            ox += px;
        }
    }
}

/// `G` groups from `g0` of `P` adjacent outputs (the first at byte `at` of `buf`, output pixel
/// `first`), each pooled over `Q` windows.
#[inline]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vpopcntdq,avx512vnni")]
#[allow(clippy::too_many_arguments)]
unsafe fn conv_bits_tile<const XNOR: bool, const Q: usize, const G: usize, const P: usize>(
    w: &[u32],
    stride: usize,
    g0: usize,
    thr: &[i32],
    c: &ConvBits,
    buf: &[u8],
    at: usize,
    first: usize,
    out: &mut [u8],
) {
    let mut a = [[[_mm512_setzero_si512(); G]; Q]; P];
    let (wp, bp) = (w.as_ptr(), buf.as_ptr());
    let mask = _mm512_set1_epi32(c.last_mask as i32);
    let partial = XNOR && c.last_mask != u32::MAX;
    let mut i = 0;
    // Index loops over the constants G, Q and P unroll fully, which keeps `a` in registers.
    for &so in c.seg_offs {
        // SAFETY (whole loop): weight rows `i < segs * words` of `stride` lanes are inside `w`; the
        // reads of `buf` are inside it by the caller's contract.
        let seg = unsafe { bp.add(at + so) };
        for j in 0..c.words {
            let row = unsafe { wp.add(i * stride + g0 * LANES) };
            let mut wv = [_mm512_setzero_si512(); G];
            for k in 0..G {
                wv[k] = unsafe { _mm512_loadu_si512(row.add(k * LANES) as *const __m512i) };
            }
            let masked = partial && j + 1 == c.words;
            for pi in 0..P {
                for q in 0..Q {
                    let src = unsafe { seg.add(pi * c.x_step + c.win_offs[q] + 4 * j) } as *const i32;
                    let xb = _mm512_set1_epi32(unsafe { src.read_unaligned() });
                    for k in 0..G {
                        a[pi][q][k] = if !XNOR {
                            _mm512_dpbusd_epi32(a[pi][q][k], xb, wv[k])
                        } else if masked {
                            // (x ^ w) & mask: the bits past the segment belong to the next pixel.
                            _mm512_add_epi32(a[pi][q][k], _mm512_popcnt_epi32(_mm512_ternarylogic_epi32::<0x28>(xb, wv[k], mask)))
                        } else {
                            _mm512_add_epi32(a[pi][q][k], _mm512_popcnt_epi32(_mm512_xor_si512(xb, wv[k])))
                        };
                    }
                }
            }
            i += 1;
        }
    }
    let op = out.as_mut_ptr();
    for (pi, ap) in a.iter().enumerate() {
        for k in 0..G {
            let g = g0 + k;
            let mut m = ap[0][k];
            for aq in &ap[1..] {
                m = if XNOR { _mm512_min_epi32(m, aq[k]) } else { _mm512_max_epi32(m, aq[k]) };
            }
            // SAFETY: `thr` holds `groups * 16` lanes.
            let t = unsafe { _mm512_loadu_si512(thr.as_ptr().add(g * LANES) as *const __m512i) };
            let bits = if XNOR { _mm512_cmple_epi32_mask(m, t) } else { _mm512_cmpge_epi32_mask(m, t) };
            let bit = (first + pi) * c.rows + g * LANES;
            let lanes = (c.rows - g * LANES).min(LANES);
            // SAFETY: `bit / 8 + 4 <= out.len()` for bits of this map (asserted slack).
            unsafe {
                if lanes == LANES && bit.is_multiple_of(8) {
                    (op.add(bit / 8) as *mut u16).write_unaligned(bits);
                } else {
                    let v = ((bits as u32) & ((1u32 << lanes) - 1)) << (bit % 8);
                    let p = op.add(bit / 8) as *mut u32;
                    p.write_unaligned(p.read_unaligned() | v);
                }
            }
        }
    }
}
