//! Plain-Rust kernels, the fallback on any CPU. Same layout and results as the SIMD ones.

use super::{Geometry, LANES};

pub fn xnor(w: &[u32], groups: usize, nw: usize, win: &[u32], n: usize, acc: &mut [i32]) {
    let stride = groups * LANES;
    for p in 0..n {
        let out = &mut acc[p * stride..(p + 1) * stride];
        out.fill(0);
        for (i, &x) in win[p * nw..(p + 1) * nw].iter().enumerate() {
            let row = &w[i * stride..(i + 1) * stride];
            for (a, &wv) in out.iter_mut().zip(row) {
                *a += (x ^ wv).count_ones() as i32;
            }
        }
    }
}

pub fn int8(w: &[u32], g: Geometry, buf: &[u8], offs: &[u32], n: usize, acc: &mut [i32]) {
    let stride = g.groups * LANES;
    for p in 0..n {
        let out = &mut acc[p * stride..(p + 1) * stride];
        out.fill(0);
        for (s, &o) in offs[p * g.segs..(p + 1) * g.segs].iter().enumerate() {
            for j in 0..g.words {
                let at = o as usize + 4 * j;
                let x: [u8; 4] = buf[at..at + 4].try_into().expect("4 bytes");
                let row = &w[(s * g.words + j) * stride..(s * g.words + j + 1) * stride];
                for (a, &wv) in out.iter_mut().zip(row) {
                    let wb = wv.to_le_bytes();
                    let mut d = 0i32;
                    for k in 0..4 {
                        d += x[k] as i32 * wb[k] as i8 as i32;
                    }
                    *a = a.wrapping_add(d);
                }
            }
        }
    }
}
