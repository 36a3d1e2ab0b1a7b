//! Quantizers of the training graph: weights (bipolar or symmetric signed), hidden activations
//! (bipolar sign or unsigned uniform levels) and the fixed input quantizer, with their
//! straight-through-estimator (STE) masks.

use serde::{Deserialize, Serialize};

/// Bit widths of one model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Bits {
    /// Weight bits of every layer (1 = bipolar, else signed symmetric `-(2^(W-1)-1)..=2^(W-1)-1`).
    pub wbits: u8,
    /// Hidden activation bits (1 = bipolar, else unsigned `0..=2^A-1`).
    pub abits: u8,
    /// Bits the input quantizer gives the first layer (8 = the raw pixels).
    pub in_bits: u8,
}

impl Bits {
    pub fn new(wbits: u8, abits: u8, in_bits: u8) -> Result<Self, String> {
        for (name, b) in [("weight", wbits), ("activation", abits), ("input", in_bits)] {
            if !golden_model::value::SUPPORTED_BITS.contains(&b) {
                return Err(format!("{name} bit width {b} is not supported (expected 1, 2, 4 or 8)"));
            }
        }
        Ok(Bits { wbits, abits, in_bits })
    }
    /// `w1a1`, or `w1a1i4` when the input is not 8-bit.
    pub fn tag(&self) -> String {
        if self.in_bits == 8 {
            format!("w{}a{}", self.wbits, self.abits)
        } else {
            format!("w{}a{}i{}", self.wbits, self.abits, self.in_bits)
        }
    }
}

/// Largest integer weight magnitude: 1 for bipolar, `2^(W-1)-1` otherwise (symmetric, so a row can
/// be negated at export).
pub fn weight_qmax(bits: u8) -> i32 {
    if bits == 1 { 1 } else { (1 << (bits - 1)) - 1 }
}

/// Quantization step of one weight row (the scale `s` in `w_q = s * w_int`). Bipolar weights use 1
/// (batch norm absorbs any scale). Multi-bit steps follow the weight spread: near the MSE-optimal
/// uniform step of a Gaussian at 2 and 4 bits, the max-abs scale at 8 bits.
pub fn weight_scale(row: &[f32], bits: u8) -> f32 {
    let s = match bits {
        1 => return 1.0,
        8 => row.iter().fold(0f32, |m, &w| m.max(w.abs())) / weight_qmax(8) as f32,
        _ => {
            let rms = (row.iter().map(|&w| (w as f64) * (w as f64)).sum::<f64>() / row.len().max(1) as f64).sqrt() as f32;
            let k = if bits == 2 { 1.22 } else { 0.35 };
            k * rms
        }
    };
    if s.is_finite() && s > 1e-12 { s } else { 1.0 }
}

/// Integer code of one weight.
#[inline]
pub fn weight_int(w: f32, scale: f32, bits: u8) -> i32 {
    if bits == 1 {
        if w >= 0.0 { 1 } else { -1 }
    } else {
        let m = weight_qmax(bits);
        ((w / scale).round() as i32).clamp(-m, m)
    }
}

/// STE: the gradient passes where the quantizer is not saturated.
#[inline]
pub fn weight_ste(w: f32, scale: f32, bits: u8) -> bool {
    if bits == 1 { w.abs() <= 1.0 } else { w.abs() <= scale * (weight_qmax(bits) as f32 + 0.5) }
}

/// Quantized weights of a `[rows][cols]` matrix: integer codes, float values `s * int` and per-row
/// scales (one shared scale when `per_row` is false, as the logit layer needs).
pub struct QuantWeights {
    pub ints: Vec<i32>,
    pub values: Vec<f32>,
    pub scales: Vec<f32>,
    pub ste: Vec<bool>,
}

pub fn quantize_weights(w: &[f32], rows: usize, cols: usize, bits: u8, per_row: bool) -> QuantWeights {
    assert_eq!(w.len(), rows * cols);
    let shared = (!per_row).then(|| weight_scale(w, bits));
    let mut q = QuantWeights {
        ints: Vec::with_capacity(w.len()),
        values: Vec::with_capacity(w.len()),
        scales: Vec::with_capacity(rows),
        ste: Vec::with_capacity(w.len()),
    };
    for r in 0..rows {
        let row = &w[r * cols..(r + 1) * cols];
        let s = shared.unwrap_or_else(|| weight_scale(row, bits));
        q.scales.push(s);
        for &x in row {
            let i = weight_int(x, s, bits);
            q.ints.push(i);
            q.values.push(i as f32 * s);
            q.ste.push(weight_ste(x, s, bits));
        }
    }
    q
}

/// Hidden activation quantizer on the batch-norm output `y`.
/// A = 1: `sign(y)` (0 maps to +1), level 0 or 1, value -1/+1.
/// A > 1: level `clamp(floor(y * L / R + 1/2), 0, L)` with `L = 2^A - 1` and clip range `R`;
/// value `level * R / L`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ActQuant {
    pub bits: u8,
    pub range: f32,
}

impl ActQuant {
    pub fn levels(&self) -> u32 {
        (1u32 << self.bits) - 1
    }
    /// Level in f64: the single definition the exact eval path and the exported thresholds use.
    #[inline]
    pub fn level_f64(&self, y: f64) -> u32 {
        if self.bits == 1 {
            (y >= 0.0) as u32
        } else {
            let l = self.levels() as f64;
            let q = (y * (l / self.range as f64) + 0.5).floor();
            if q.is_nan() {
                0
            } else {
                q.clamp(0.0, l) as u32
            }
        }
    }
    /// Level in f32 (training forward).
    #[inline]
    pub fn level_f32(&self, y: f32) -> u32 {
        if self.bits == 1 {
            (y >= 0.0) as u32
        } else {
            let l = self.levels() as f32;
            (y * (l / self.range) + 0.5).floor().clamp(0.0, l) as u32
        }
    }
    /// Integer activation of a level (bipolar -1/+1, unsigned the level).
    #[inline]
    pub fn int_of_level(&self, q: u32) -> i32 {
        if self.bits == 1 { 2 * q as i32 - 1 } else { q as i32 }
    }
    /// Float value the next layer sees is `int * value_scale()`.
    pub fn value_scale(&self) -> f32 {
        if self.bits == 1 { 1.0 } else { self.range / self.levels() as f32 }
    }
    /// STE of the activation: hardtanh for sign, clipped identity for uniform levels.
    #[inline]
    pub fn ste(&self, y: f32) -> bool {
        if self.bits == 1 { y.abs() <= 1.0 } else { (0.0..=self.range).contains(&y) }
    }
}

/// Fixed input quantizer on 8-bit pixels. 8 bits: identity (value `p / 255`). 1 bit: `p >= 128`
/// gives +1, else -1. 2 or 4 bits: level `p >> (8 - A)` (thresholds `i << (8 - A)`), value `q / L`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputQuant {
    pub bits: u8,
}

impl InputQuant {
    #[inline]
    pub fn int(&self, p: u8) -> i32 {
        match self.bits {
            8 => p as i32,
            1 => if p >= 128 { 1 } else { -1 },
            b => (p >> (8 - b)) as i32,
        }
    }
    pub fn value_scale(&self) -> f32 {
        match self.bits {
            8 => 1.0 / 255.0,
            1 => 1.0,
            b => 1.0 / ((1u32 << b) - 1) as f32,
        }
    }
    /// Thresholds of the golden-model input quantizer (ascending, `2^A - 1` of them).
    pub fn thresholds(&self) -> Vec<i32> {
        match self.bits {
            1 => vec![128],
            b => (1..(1i32 << b)).map(|i| i << (8 - b)).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weight_codes_in_range_and_symmetric() {
        let w: Vec<f32> = (0..200).map(|i| ((i as f32) * 0.37).sin() * 0.3).collect();
        for bits in [1u8, 2, 4, 8] {
            let q = quantize_weights(&w, 4, 50, bits, true);
            let m = weight_qmax(bits);
            assert!(q.ints.iter().all(|&i| (-m..=m).contains(&i) && (bits > 1 || i != 0)));
            for (k, &x) in w.iter().enumerate() {
                // Negating a weight negates its code (so rows can be flipped at export).
                if x != 0.0 {
                    assert_eq!(weight_int(-x, q.scales[k / 50], bits), -q.ints[k]);
                }
                assert_eq!(q.values[k], q.ints[k] as f32 * q.scales[k / 50]);
            }
            if bits == 8 {
                assert!(q.ints.iter().any(|&i| i.abs() == 127));
            }
        }
        // STE: binary passes |w| <= 1 only.
        assert!(weight_ste(0.5, 1.0, 1) && !weight_ste(1.5, 1.0, 1));
    }

    #[test]
    fn act_quant_levels() {
        let a = ActQuant { bits: 1, range: 1.0 };
        assert_eq!((a.level_f64(-1e-9), a.level_f64(0.0)), (0, 1));
        assert_eq!(a.int_of_level(0), -1);
        let a = ActQuant { bits: 2, range: 1.0 };
        let lv: Vec<u32> = [-1.0, 0.1, 0.2, 0.5, 0.9, 3.0].iter().map(|&y| a.level_f64(y)).collect();
        assert_eq!(lv, vec![0, 0, 1, 2, 3, 3]);
        for i in -400..400 {
            let y = i as f32 * 0.01;
            assert_eq!(a.level_f32(y), a.level_f64(y as f64), "y={y}");
        }
        // Monotone.
        let a = ActQuant { bits: 4, range: 2.0 };
        let mut prev = 0;
        for i in -1000..1000 {
            let q = a.level_f64(i as f64 * 0.003);
            assert!(q >= prev);
            prev = q;
        }
        assert!(a.ste(1.0) && !a.ste(-0.1) && !a.ste(2.1));
    }

    #[test]
    fn input_quant_matches_thresholds() {
        for bits in [1u8, 2, 4] {
            let q = InputQuant { bits };
            let t = q.thresholds();
            for p in 0..=255u8 {
                let level = t.iter().filter(|&&t| p as i32 >= t).count() as i32;
                let expect = if bits == 1 { 2 * level - 1 } else { level };
                assert_eq!(q.int(p), expect, "bits {bits} pixel {p}");
            }
        }
        assert_eq!(InputQuant { bits: 8 }.int(200), 200);
    }
}
