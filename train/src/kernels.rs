//! Dense linear algebra and data movement of the training graph: GEMM wrappers over
//! `matrixmultiply`, im2col / col2im for NHWC maps, and a fixed two-way split for the two cores.
//!
//! Determinism: work is always cut into the same [`PARTS`] pieces whatever the number of threads,
//! and partial sums are always added in piece order, so a seed gives the same bits on any machine
//! with the same float behaviour.

/// Number of pieces every parallel op is cut into (independent of how many threads run them).
pub const PARTS: usize = 2;

/// Threads used to run the pieces: `TRAIN_THREADS` (1 or 2), default 2.
pub fn threads() -> usize {
    static T: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *T.get_or_init(|| {
        std::env::var("TRAIN_THREADS").ok().and_then(|s| s.parse().ok()).filter(|&t| t >= 1).unwrap_or(2).min(PARTS)
    })
}

/// Keeps large buffers in the heap between batches: glibc otherwise maps and unmaps every buffer
/// above its mmap threshold, and the page faults cost about a quarter of the training time.
pub fn tune_allocator() {
    static DONE: std::sync::Once = std::sync::Once::new();
    DONE.call_once(|| {
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: mallopt only changes allocator parameters; called once, before the training buffers exist.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 30);
            libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
        }
    });
}

/// Runs `f(piece, range)` for the `PARTS` contiguous pieces of `0..n`, in parallel when allowed.
/// Returns the results in piece order.
pub fn par_parts<R: Send>(n: usize, f: impl Fn(usize, std::ops::Range<usize>) -> R + Sync) -> Vec<R> {
    let ranges: Vec<_> = (0..PARTS).map(|p| (p * n / PARTS)..((p + 1) * n / PARTS)).collect();
    if threads() == 1 || n < 2 {
        return ranges.into_iter().enumerate().map(|(p, r)| f(p, r)).collect();
    }
    std::thread::scope(|s| {
        let f = &f;
        let handles: Vec<_> = ranges.into_iter().enumerate().skip(1).map(|(p, r)| s.spawn(move || f(p, r))).collect();
        let first = f(0, 0..n / PARTS);
        let mut out = vec![first];
        out.extend(handles.into_iter().map(|h| h.join().expect("worker thread panicked")));
        out
    })
}

/// The `PARTS` contiguous pieces of `0..n` (the same cut as [`par_parts`]).
pub fn piece_ranges(n: usize) -> Vec<std::ops::Range<usize>> {
    (0..PARTS).map(|p| (p * n / PARTS)..((p + 1) * n / PARTS)).collect()
}

/// Runs `f(piece, item)` on the `PARTS` items in parallel when allowed; results in piece order.
pub fn par_map<T: Send, R: Send>(items: Vec<T>, f: impl Fn(usize, T) -> R + Sync) -> Vec<R> {
    assert_eq!(items.len(), PARTS);
    if threads() == 1 {
        return items.into_iter().enumerate().map(|(p, t)| f(p, t)).collect();
    }
    std::thread::scope(|s| {
        let f = &f;
        let mut it = items.into_iter().enumerate();
        let (p0, t0) = it.next().expect("PARTS >= 1");
        let hs: Vec<_> = it.map(|(p, t)| s.spawn(move || f(p, t))).collect();
        let mut out = vec![f(p0, t0)];
        out.extend(hs.into_iter().map(|h| h.join().expect("worker thread panicked")));
        out
    })
}

/// Splits `data` (rows of `row_len`) into the same pieces as [`par_parts`] over `n` rows and runs
/// `f(piece, row_range, rows)` on each in parallel.
pub fn par_rows_mut<T: Send>(data: &mut [T], n: usize, row_len: usize, f: impl Fn(usize, std::ops::Range<usize>, &mut [T]) + Sync) {
    assert_eq!(data.len(), n * row_len);
    let mut pieces = vec![];
    let mut rest = data;
    let mut start = 0;
    for p in 0..PARTS {
        let end = (p + 1) * n / PARTS;
        let (a, b) = rest.split_at_mut((end - start) * row_len);
        pieces.push((p, start..end, a));
        rest = b;
        start = end;
    }
    if threads() == 1 || n < 2 {
        for (p, r, d) in pieces {
            f(p, r, d);
        }
        return;
    }
    std::thread::scope(|s| {
        let f = &f;
        let mut it = pieces.into_iter();
        let (p0, r0, d0) = it.next().expect("PARTS >= 1");
        let hs: Vec<_> = it.map(|(p, r, d)| s.spawn(move || f(p, r, d))).collect();
        f(p0, r0, d0);
        for h in hs {
            h.join().expect("worker thread panicked");
        }
    });
}

/// `C[m x n] = A[m x k] * B[n x k]^T + beta * C`, all row-major.
pub fn sgemm_abt(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], beta: f32, c: &mut [f32]) {
    assert!(a.len() >= m * k && b.len() >= n * k && c.len() >= m * n);
    if m == 0 || n == 0 {
        return;
    }
    // SAFETY: the slices hold at least the addressed elements (asserted above).
    unsafe {
        matrixmultiply::sgemm(
            m, k, n, 1.0, a.as_ptr(), k as isize, 1, b.as_ptr(), 1, k as isize, beta, c.as_mut_ptr(), n as isize, 1,
        )
    }
}

/// A fresh `A[m x k] * B[n x k]^T` (the output is never zero-filled first).
pub fn sgemm_abt_new(m: usize, k: usize, n: usize, a: &[f32], b: &[f32]) -> Vec<f32> {
    assert!(a.len() >= m * k && b.len() >= n * k && k > 0);
    let mut c = Vec::with_capacity(m * n);
    if m > 0 && n > 0 {
        // SAFETY: with beta = 0, matrixmultiply writes every element of C without reading it; C has
        // capacity m * n and the length is set only afterwards.
        unsafe {
            matrixmultiply::sgemm(
                m, k, n, 1.0, a.as_ptr(), k as isize, 1, b.as_ptr(), 1, k as isize, 0.0, c.as_mut_ptr(), n as isize, 1,
            );
            c.set_len(m * n);
        }
    }
    c
}

/// A fresh `A[m x k] * B[k x n]` (the output is never zero-filled first).
pub fn sgemm_ab_new(m: usize, k: usize, n: usize, a: &[f32], b: &[f32]) -> Vec<f32> {
    assert!(a.len() >= m * k && b.len() >= k * n && k > 0);
    let mut c = Vec::with_capacity(m * n);
    if m > 0 && n > 0 {
        // SAFETY: as in `sgemm_abt_new`.
        unsafe {
            matrixmultiply::sgemm(
                m, k, n, 1.0, a.as_ptr(), k as isize, 1, b.as_ptr(), n as isize, 1, 0.0, c.as_mut_ptr(), n as isize, 1,
            );
            c.set_len(m * n);
        }
    }
    c
}

/// `C[k x n] = A[m x k]^T * B[m x n] + beta * C`, all row-major.
pub fn sgemm_atb(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], beta: f32, c: &mut [f32]) {
    assert!(a.len() >= m * k && b.len() >= m * n && c.len() >= k * n);
    if k == 0 || n == 0 {
        return;
    }
    // SAFETY: as above.
    unsafe {
        matrixmultiply::sgemm(
            k, m, n, 1.0, a.as_ptr(), 1, k as isize, b.as_ptr(), n as isize, 1, beta, c.as_mut_ptr(), n as isize, 1,
        )
    }
}

/// `C[m x n] = A[m x k] * B[k x n] + beta * C`, all row-major.
pub fn sgemm_ab(m: usize, k: usize, n: usize, a: &[f32], b: &[f32], beta: f32, c: &mut [f32]) {
    assert!(a.len() >= m * k && b.len() >= k * n && c.len() >= m * n);
    if m == 0 || n == 0 {
        return;
    }
    // SAFETY: as above.
    unsafe {
        matrixmultiply::sgemm(
            m, k, n, 1.0, a.as_ptr(), k as isize, 1, b.as_ptr(), n as isize, 1, beta, c.as_mut_ptr(), n as isize, 1,
        )
    }
}

/// f64 `C = A * B^T` (exact for integer-valued operands whose sums stay below 2^53).
pub fn dgemm_abt(m: usize, k: usize, n: usize, a: &[f64], b: &[f64], c: &mut [f64]) {
    assert!(a.len() >= m * k && b.len() >= n * k && c.len() >= m * n);
    if m == 0 || n == 0 {
        return;
    }
    // SAFETY: as above.
    unsafe {
        matrixmultiply::dgemm(
            m, k, n, 1.0, a.as_ptr(), k as isize, 1, b.as_ptr(), 1, k as isize, 0.0, c.as_mut_ptr(), n as isize, 1,
        )
    }
}

/// Geometry of a valid (unpadded, stride 1) convolution over NHWC maps.
#[derive(Clone, Copy, Debug)]
pub struct ConvGeom {
    pub ih: usize,
    pub iw: usize,
    pub cin: usize,
    pub kh: usize,
    pub kw: usize,
}

impl ConvGeom {
    pub fn oh(&self) -> usize {
        self.ih - self.kh + 1
    }
    pub fn ow(&self) -> usize {
        self.iw - self.kw + 1
    }
    pub fn k(&self) -> usize {
        self.kh * self.kw * self.cin
    }
    pub fn in_len(&self) -> usize {
        self.ih * self.iw * self.cin
    }
    /// A kernel covering the whole map: im2col is the identity.
    pub fn is_full(&self) -> bool {
        self.kh == self.ih && self.kw == self.iw
    }

    /// Patches of `images` (NHWC, `in_len` each) into `out` (`images * oh * ow` rows of `k`), columns
    /// in `(ky, kx, ic)` order.
    pub fn im2col<T: Copy>(&self, x: &[T], out: &mut [T]) {
        let images = x.len() / self.in_len();
        let (oh, ow, run, k) = (self.oh(), self.ow(), self.kw * self.cin, self.k());
        assert_eq!(out.len(), images * oh * ow * k);
        let mut row = 0;
        for b in 0..images {
            let img = &x[b * self.in_len()..(b + 1) * self.in_len()];
            for oy in 0..oh {
                for ox in 0..ow {
                    let dst = &mut out[row * k..(row + 1) * k];
                    for ky in 0..self.kh {
                        let s = ((oy + ky) * self.iw + ox) * self.cin;
                        dst[ky * run..(ky + 1) * run].copy_from_slice(&img[s..s + run]);
                    }
                    row += 1;
                }
            }
        }
    }

    /// `im2col` into a new vector.
    pub fn im2col_new<T: Copy>(&self, x: &[T]) -> Vec<T> {
        let images = x.len() / self.in_len();
        let (oh, ow, run) = (self.oh(), self.ow(), self.kw * self.cin);
        let mut out = Vec::with_capacity(images * oh * ow * self.k());
        for b in 0..images {
            let img = &x[b * self.in_len()..(b + 1) * self.in_len()];
            for oy in 0..oh {
                for ox in 0..ow {
                    for ky in 0..self.kh {
                        let s = ((oy + ky) * self.iw + ox) * self.cin;
                        out.extend_from_slice(&img[s..s + run]);
                    }
                }
            }
        }
        out
    }

    /// Adjoint of `im2col`: adds patch gradients back into `dx` (which it overwrites).
    pub fn col2im(&self, cols: &[f32], dx: &mut [f32]) {
        let images = dx.len() / self.in_len();
        let (oh, ow, run, k) = (self.oh(), self.ow(), self.kw * self.cin, self.k());
        assert_eq!(cols.len(), images * oh * ow * k);
        dx.fill(0.0);
        let mut row = 0;
        for b in 0..images {
            let img = &mut dx[b * self.in_len()..(b + 1) * self.in_len()];
            for oy in 0..oh {
                for ox in 0..ow {
                    let src = &cols[row * k..(row + 1) * k];
                    for ky in 0..self.kh {
                        let s = ((oy + ky) * self.iw + ox) * self.cin;
                        for (d, v) in img[s..s + run].iter_mut().zip(&src[ky * run..(ky + 1) * run]) {
                            *d += v;
                        }
                    }
                    row += 1;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gemm_variants_agree_with_loops() {
        let (m, k, n) = (5, 7, 3);
        let a: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.3).sin()).collect();
        let b: Vec<f32> = (0..n * k).map(|i| (i as f32 * 0.7).cos()).collect();
        let mut c = vec![0f32; m * n];
        sgemm_abt(m, k, n, &a, &b, 0.0, &mut c);
        for i in 0..m {
            for j in 0..n {
                let e: f32 = (0..k).map(|t| a[i * k + t] * b[j * k + t]).sum();
                assert!((c[i * n + j] - e).abs() < 1e-5);
            }
        }
        // A^T B with A m x k, B m x n.
        let bb: Vec<f32> = (0..m * n).map(|i| (i as f32 * 0.11).cos()).collect();
        let mut c2 = vec![0f32; k * n];
        sgemm_atb(m, k, n, &a, &bb, 0.0, &mut c2);
        for i in 0..k {
            for j in 0..n {
                let e: f32 = (0..m).map(|t| a[t * k + i] * bb[t * n + j]).sum();
                assert!((c2[i * n + j] - e).abs() < 1e-5);
            }
        }
        // A B with A m x n(=k') and B n x k.
        let mut c3 = vec![0f32; m * k];
        sgemm_ab(m, n, k, &bb, &b, 0.0, &mut c3);
        for i in 0..m {
            for j in 0..k {
                let e: f32 = (0..n).map(|t| bb[i * n + t] * b[t * k + j]).sum();
                assert!((c3[i * k + j] - e).abs() < 1e-5);
            }
        }
    }

    #[test]
    fn col2im_is_adjoint_of_im2col() {
        let g = ConvGeom { ih: 5, iw: 6, cin: 2, kh: 3, kw: 2 };
        let x: Vec<f32> = (0..2 * g.in_len()).map(|i| (i as f32 * 0.37).sin()).collect();
        let mut cols = vec![0f32; 2 * g.oh() * g.ow() * g.k()];
        g.im2col(&x, &mut cols);
        let y: Vec<f32> = (0..cols.len()).map(|i| (i as f32 * 0.19).cos()).collect();
        let mut dx = vec![0f32; x.len()];
        g.col2im(&y, &mut dx);
        let lhs: f64 = cols.iter().zip(&y).map(|(a, b)| (a * b) as f64).sum();
        let rhs: f64 = x.iter().zip(&dx).map(|(a, b)| (a * b) as f64).sum();
        assert!((lhs - rhs).abs() < 1e-3, "{lhs} vs {rhs}");
    }

    #[test]
    fn parts_cover_range_in_order() {
        let r = par_parts(7, |p, r| (p, r));
        assert_eq!(r.len(), PARTS);
        let mut next = 0;
        for (i, (p, r)) in r.into_iter().enumerate() {
            assert_eq!(p, i);
            assert_eq!(r.start, next);
            next = r.end;
        }
        assert_eq!(next, 7);
    }
}
