//! Area-averaging resize with exact integer arithmetic.
//!
//! Rule: output pixel `(oy, ox)` of an `S x S` image made from a `W x H` source covers the source
//! rectangle `[ox*W/S, (ox+1)*W/S) x [oy*H/S, (oy+1)*H/S)`. Its value is the mean of the source pixels
//! weighted by the area of their overlap with that rectangle, rounded half up:
//! `floor(sum(area_i * p_i) / sum(area_i) + 1/2)`. All areas are integers in units of `1/S^2` of a
//! source pixel, so the result is exact (no floating point) and platform independent. An integer factor
//! (128 -> 64) is an exact box mean (2 x 2), and `S == W == H` is the identity.

/// Resizes a row-major `width x height` 8-bit image to `size x size`. `width`, `height` and `size`
/// must be non-zero and `src.len() == width * height` (the loader checks both).
pub fn resize_area(src: &[u8], width: usize, height: usize, size: usize) -> Vec<u8> {
    assert!(width > 0 && height > 0 && size > 0, "resize_area: empty image or size");
    assert_eq!(
        src.len(),
        width * height,
        "resize_area: buffer does not match dimensions"
    );
    if width == size && height == size {
        return src.to_vec();
    }
    let cols = overlaps(width, size);
    let rows = overlaps(height, size);

    // Horizontal pass keeps exact weighted sums so that rounding happens once, at the end.
    let mut horizontal = vec![0u64; height * size];
    for y in 0..height {
        let line = &src[y * width..(y + 1) * width];
        for (ox, taps) in cols.iter().enumerate() {
            horizontal[y * size + ox] = taps.iter().map(|&(x, w)| w * line[x] as u64).sum();
        }
    }

    let denominator = width as u64 * height as u64;
    let mut out = vec![0u8; size * size];
    for (oy, taps) in rows.iter().enumerate() {
        for ox in 0..size {
            let numerator: u64 = taps.iter().map(|&(y, w)| w * horizontal[y * size + ox]).sum();
            out[oy * size + ox] = ((2 * numerator + denominator) / (2 * denominator)) as u8;
        }
    }
    out
}

/// For each of `size` output cells along an axis of `len` source pixels: the source indices it
/// overlaps and the overlap lengths. Scaled by `size`, output cell `o` spans `[o*len, (o+1)*len)` and
/// source pixel `i` spans `[i*size, (i+1)*size)`, so every overlap is an integer and each cell's
/// weights sum to `len`.
fn overlaps(len: usize, size: usize) -> Vec<Vec<(usize, u64)>> {
    (0..size)
        .map(|o| {
            let (lo, hi) = (o * len, (o + 1) * len);
            let first = lo / size;
            let last = (hi - 1) / size;
            (first..=last)
                .map(|i| {
                    let overlap = hi.min((i + 1) * size) - lo.max(i * size);
                    (i, overlap as u64)
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn halving_is_a_box_mean_rounded_half_up() {
        // 2x2 blocks with sums 0+1+1+0 = 2 (0.5 -> 1), 1+2+2+2 = 7 (1.75 -> 2), 255*4, 4+4+4+5 = 17 (4.25 -> 4).
        let src = [
            0, 1, 1, 2, //
            1, 0, 2, 2, //
            255, 255, 4, 4, //
            255, 255, 4, 5,
        ];
        assert_eq!(resize_area(&src, 4, 4, 2), vec![1, 2, 255, 4]);
    }

    #[test]
    fn non_integer_factor_weights_by_overlap() {
        // 3 -> 2 along x: cell 0 = p0 + p1/2 over 1.5, cell 1 = p1/2 + p2 over 1.5.
        // Row [0, 3, 6]: cell 0 = (0*2 + 3*1)/3 = 1, cell 1 = (3*1 + 6*2)/3 = 5.
        // Height 1 -> 2 repeats the row; a 3x2 source with that row twice gives the same.
        assert_eq!(resize_area(&[0, 3, 6], 3, 1, 2), vec![1, 5, 1, 5]);
        assert_eq!(resize_area(&[0, 3, 6, 0, 3, 6], 3, 2, 2), vec![1, 5, 1, 5]);
    }

    #[test]
    fn non_square_source() {
        // 4 wide, 2 high -> 2x2: x halves, y keeps rows.
        let src = [10, 20, 30, 41, 50, 60, 70, 80];
        assert_eq!(resize_area(&src, 4, 2, 2), vec![15, 36, 55, 75]);
    }

    #[test]
    fn upscaling_replicates_pixels() {
        assert_eq!(resize_area(&[7, 9], 2, 1, 4)[..4], [7, 7, 9, 9]);
    }

    proptest! {
        #[test]
        fn identity_at_same_size(px in proptest::collection::vec(any::<u8>(), 36)) {
            prop_assert_eq!(resize_area(&px, 6, 6, 6), px);
        }

        #[test]
        fn constant_images_stay_constant(v in any::<u8>(), w in 1usize..20, h in 1usize..20, s in 1usize..20) {
            let out = resize_area(&vec![v; w * h], w, h, s);
            prop_assert!(out.iter().all(|&p| p == v));
        }

        #[test]
        fn integer_factor_matches_naive_box_mean(px in proptest::collection::vec(any::<u8>(), 144), f in prop::sample::select(vec![2usize, 3, 4, 6])) {
            let s = 12 / f;
            let out = resize_area(&px, 12, 12, s);
            for oy in 0..s {
                for ox in 0..s {
                    let mut sum = 0u32;
                    for y in oy * f..(oy + 1) * f {
                        for x in ox * f..(ox + 1) * f {
                            sum += px[y * 12 + x] as u32;
                        }
                    }
                    let n = (f * f) as u32;
                    prop_assert_eq!(out[oy * s + ox] as u32, (2 * sum + n) / (2 * n));
                }
            }
        }
    }
}
