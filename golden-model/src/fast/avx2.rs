//! AVX2 kernels, 8 channels per 256-bit word. AVX2 has no vector popcount: bytes are counted by
//! nibble table lookup (`vpshufb`) and summed in byte lanes for up to 31 words (8 bits each, at most
//! 248 < 256) before being widened. Dot products use `vpmaddubsw` (unsigned x signed bytes into
//! saturating 16-bit pair sums, exact while |pair| <= 32767; see `Packed::split`) then `vpmaddwd`.

use super::{Geometry, LANES};
use std::arch::x86_64::*;

/// Channels per 256-bit word.
const HALF: usize = LANES / 2;

/// Runs `block::<H>` over all half-groups of one window, in blocks of up to 4 half-groups.
macro_rules! over_halves {
    ($halves:expr, |$h:ident, $hb:ident| $body:expr) => {{
        let mut $h = 0;
        while $h < $halves {
            let left = $halves - $h;
            if left >= 4 {
                const $hb: usize = 4;
                $body;
                $h += 4;
            } else if left >= 2 {
                const $hb: usize = 2;
                $body;
                $h += 2;
            } else {
                const $hb: usize = 1;
                $body;
                $h += 1;
            }
        }
    }};
}

/// # Safety
/// The CPU must have avx2; slices as in `Packed::xnor`.
#[target_feature(enable = "avx2")]
pub unsafe fn xnor(w: &[u32], groups: usize, nw: usize, win: &[u32], n: usize, acc: &mut [i32]) {
    let stride = groups * LANES;
    for p in 0..n {
        let x = &win[p * nw..(p + 1) * nw];
        let out = &mut acc[p * stride..(p + 1) * stride];
        // SAFETY: blocks stay inside `w` and `out`.
        over_halves!(2 * groups, |h, HB| unsafe { xnor_block::<HB>(w, stride, h, x, out) });
    }
}

#[inline]
#[target_feature(enable = "avx2")]
fn widen_bytes(b: __m256i) -> __m256i {
    _mm256_madd_epi16(_mm256_maddubs_epi16(b, _mm256_set1_epi8(1)), _mm256_set1_epi16(1))
}

#[inline]
#[target_feature(enable = "avx2")]
unsafe fn xnor_block<const H: usize>(w: &[u32], stride: usize, h0: usize, x: &[u32], out: &mut [i32]) {
    debug_assert!(w.len() >= x.len() * stride && out.len() >= (h0 + H) * HALF);
    let lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
    let low = _mm256_set1_epi8(0x0f);
    let mut a = [_mm256_setzero_si256(); H];
    let mut b = [_mm256_setzero_si256(); H];
    let mut pending = 0;
    let wp = w.as_ptr();
    for (i, &xi) in x.iter().enumerate() {
        let xb = _mm256_set1_epi32(xi as i32);
        // SAFETY: `i * stride + (h0 + H) * HALF <= w.len()`.
        let row = unsafe { wp.add(i * stride + h0 * HALF) };
        for (k, bk) in b.iter_mut().enumerate() {
            let v = _mm256_xor_si256(xb, unsafe { _mm256_loadu_si256(row.add(k * HALF) as *const __m256i) });
            let lo = _mm256_shuffle_epi8(lut, _mm256_and_si256(v, low));
            let hi = _mm256_shuffle_epi8(lut, _mm256_and_si256(_mm256_srli_epi16(v, 4), low));
            *bk = _mm256_add_epi8(*bk, _mm256_add_epi8(lo, hi));
        }
        pending += 1;
        if pending == 31 {
            for (ak, bk) in a.iter_mut().zip(b.iter_mut()) {
                *ak = _mm256_add_epi32(*ak, widen_bytes(*bk));
                *bk = _mm256_setzero_si256();
            }
            pending = 0;
        }
    }
    let op = out.as_mut_ptr();
    for (k, (ak, bk)) in a.iter().zip(&b).enumerate() {
        // SAFETY: `out.len() >= (h0 + H) * HALF`.
        unsafe { _mm256_storeu_si256(op.add((h0 + k) * HALF) as *mut __m256i, _mm256_add_epi32(*ak, widen_bytes(*bk))) };
    }
}

/// # Safety
/// The CPU must have avx2; every `offs[..] + 4 * words` must be within `buf`.
#[target_feature(enable = "avx2")]
pub unsafe fn int8(w: &[u32], g: Geometry, buf: &[u8], offs: &[u32], n: usize, acc: &mut [i32]) {
    let stride = g.groups * LANES;
    for p in 0..n {
        let o = &offs[p * g.segs..(p + 1) * g.segs];
        let out = &mut acc[p * stride..(p + 1) * stride];
        // SAFETY: as in `xnor`; reads of `buf` bounded by the caller's check.
        over_halves!(2 * g.groups, |h, HB| unsafe { int8_block::<HB, false>(w, w, g, h, buf, o, out) });
    }
}

/// [`int8`] with weights split as `16 hi + lo`.
///
/// # Safety
/// As [`int8`].
#[target_feature(enable = "avx2")]
pub unsafe fn int8_split(hi: &[u32], lo: &[u32], g: Geometry, buf: &[u8], offs: &[u32], n: usize, acc: &mut [i32]) {
    let stride = g.groups * LANES;
    for p in 0..n {
        let o = &offs[p * g.segs..(p + 1) * g.segs];
        let out = &mut acc[p * stride..(p + 1) * stride];
        // SAFETY: as in `int8`.
        over_halves!(2 * g.groups, |h, HB| unsafe { int8_block::<HB, true>(hi, lo, g, h, buf, o, out) });
    }
}

/// Without `SPLIT`, `w` holds the weights (`lo` is unused); with it, `w` = hi and `lo` = lo halves.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn int8_block<const H: usize, const SPLIT: bool>(
    w: &[u32],
    lo: &[u32],
    g: Geometry,
    h0: usize,
    buf: &[u8],
    offs: &[u32],
    out: &mut [i32],
) {
    let stride = g.groups * LANES;
    let ones = _mm256_set1_epi16(1);
    let sixteen = _mm256_set1_epi16(16);
    let mut a = [_mm256_setzero_si256(); H];
    let (wp, lp, bp) = (w.as_ptr(), lo.as_ptr(), buf.as_ptr());
    let mut i = 0;
    for &o in offs {
        for j in 0..g.words {
            // SAFETY: `o + 4 * words <= buf.len()`; weight rows as in `xnor_block`.
            let xb = _mm256_set1_epi32(unsafe { (bp.add(o as usize + 4 * j) as *const i32).read_unaligned() });
            let at = i * stride + h0 * HALF;
            for (k, ak) in a.iter_mut().enumerate() {
                let wv = unsafe { _mm256_loadu_si256(wp.add(at + k * HALF) as *const __m256i) };
                if SPLIT {
                    let lv = unsafe { _mm256_loadu_si256(lp.add(at + k * HALF) as *const __m256i) };
                    let h = _mm256_madd_epi16(_mm256_maddubs_epi16(xb, wv), sixteen);
                    let l = _mm256_madd_epi16(_mm256_maddubs_epi16(xb, lv), ones);
                    *ak = _mm256_add_epi32(*ak, _mm256_add_epi32(h, l));
                } else {
                    *ak = _mm256_add_epi32(*ak, _mm256_madd_epi16(_mm256_maddubs_epi16(xb, wv), ones));
                }
            }
            i += 1;
        }
    }
    let op = out.as_mut_ptr();
    for (k, ak) in a.iter().enumerate() {
        // SAFETY: `out.len() >= (h0 + H) * HALF`.
        unsafe { _mm256_storeu_si256(op.add((h0 + k) * HALF) as *mut __m256i, *ak) };
    }
}
