//! FINN-style test vectors: `input.npy` (NCHW tensors as the graph takes them) to golden-model pixels,
//! `expected_output.npy` (labels, or logits to take the argmax of) to labels.

use crate::npy::Npy;
use golden_model::Shape;

/// Pixels (HWC) of every image in `x`: shape `(N, C, H, W)` or `(C, H, W)` matching `shape`. Integer
/// arrays hold pixels; float arrays hold `pixel * input_scale` (the graph's input), which must land on
/// integers 0..=255.
pub fn images(x: &Npy, shape: Shape, input_scale: f64) -> Result<Vec<Vec<u8>>, String> {
    let (h, w, c) = shape.dim();
    let n = match x.shape[..] {
        [n, cc, hh, ww] if (cc, hh, ww) == (c, h, w) => n,
        [cc, hh, ww] if (cc, hh, ww) == (c, h, w) => 1,
        _ => return Err(format!("inputs of shape {:?}: the model takes (N, {c}, {h}, {w}) tensors (NCHW)", x.shape)),
    };
    let scale = if x.is_integer() { 1.0 } else { input_scale };
    let len = c * h * w;
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let mut px = Vec::with_capacity(len);
        for y in 0..h {
            for xx in 0..w {
                for ch in 0..c {
                    let v = x.data[i * len + (ch * h + y) * w + xx];
                    let p = v / scale;
                    let r = p.round();
                    if !((p - r).abs() <= 1e-3 && (0.0..=255.0).contains(&r)) {
                        return Err(format!(
                            "input {i}, channel {ch}, row {y}, column {xx}: {v} is not a pixel value 0..=255{}",
                            if scale != 1.0 { format!(" times the input scale {scale}") } else { String::new() }
                        ));
                    }
                    px.push(r as u8);
                }
            }
        }
        out.push(px);
    }
    Ok(out)
}

/// Expected labels: `(N,)` or `(N, 1)` integers, or `(N, classes)` logits (argmax, lowest index on
/// ties).
pub fn labels(e: &Npy, n: usize, classes: usize) -> Result<Vec<usize>, String> {
    match e.shape[..] {
        [m] | [m, 1] if m == n => e
            .data
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                if v.fract() == 0.0 && v >= 0.0 && (v as usize) < classes {
                    Ok(v as usize)
                } else {
                    Err(format!("expected output {i} is {v}, not a label 0..{classes}"))
                }
            })
            .collect(),
        [m, k] if m == n && k == classes => Ok((0..n)
            .map(|i| {
                let row = &e.data[i * k..(i + 1) * k];
                (0..k).fold(0, |b, j| if row[j] > row[b] { j } else { b })
            })
            .collect()),
        _ => Err(format!("expected outputs of shape {:?}: give ({n},) labels or ({n}, {classes}) logits", e.shape)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy(shape: Vec<usize>, dtype: &str, data: Vec<f64>) -> Npy {
        Npy { shape, dtype: dtype.into(), data }
    }

    #[test]
    fn nchw_to_hwc_and_scales() {
        // 2 channels, 1x2 image: channel 0 = [1, 2], channel 1 = [3, 4]
        let x = npy(vec![1, 2, 1, 2], "|u1", vec![1.0, 2.0, 3.0, 4.0]);
        assert_eq!(images(&x, Shape::new(1, 2, 2), 0.5).unwrap(), vec![vec![1, 3, 2, 4]]);
        let f = npy(vec![2, 1, 1], "<f4", vec![10.0 / 255.0, 1.0]);
        assert_eq!(images(&f, Shape::new(1, 1, 2), 1.0 / 255.0).unwrap(), vec![vec![10, 255]]);
        let g = npy(vec![1, 1, 1], "<f4", vec![0.5]);
        assert!(images(&g, Shape::new(1, 1, 1), 1.0).unwrap_err().contains("not a pixel value"));
        assert!(images(&x, Shape::new(2, 2, 2), 1.0).unwrap_err().contains("NCHW"));
    }

    #[test]
    fn labels_or_logits() {
        assert_eq!(labels(&npy(vec![3], "<i8", vec![1.0, 0.0, 2.0]), 3, 3).unwrap(), vec![1, 0, 2]);
        assert_eq!(labels(&npy(vec![2, 2], "<f4", vec![0.1, 0.9, 0.5, 0.5]), 2, 2).unwrap(), vec![1, 0]);
        assert!(labels(&npy(vec![2], "<i8", vec![0.0, 5.0]), 2, 3).is_err());
        assert!(labels(&npy(vec![3], "<i8", vec![0.0; 3]), 2, 3).is_err());
    }
}
