//! Element-wise ops between two linear layers, per output channel, as real functions: the chain a
//! layer's accumulator goes through (batch norm, scales, biases, ReLU, quantizers) before the next
//! layer. Every one is monotone in its input, so the chain folds into integer thresholds.
//!
//! Semantics follow the `qonnx` package's executors (`qonnx.custom_op.general`): `Quant`/`IntQuant`
//! (`int_quant`: scale, add zero point, clamp, round, subtract zero point, rescale; 1 signed bit is
//! bipolar), `BipolarQuant` (`x >= 0 -> +1 else -1`, times scale), `MultiThreshold` (number of
//! thresholds `x >=`, times `out_scale`, plus `out_bias`) and `Trunc` (v2). Values are computed in
//! `f64`; where a value lies exactly on a rounding boundary the op's own rule decides (round half to
//! even for `ROUND`, `>=` for the bipolar quantizer and thresholds).

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rounding {
    HalfEven,
    Ceil,
    Floor,
    Up,
    Down,
    HalfUp,
    HalfDown,
}

impl Rounding {
    pub fn parse(s: &str) -> Result<Rounding, String> {
        Ok(match s.to_ascii_uppercase().as_str() {
            "ROUND" | "HALF_EVEN" => Rounding::HalfEven,
            "CEIL" => Rounding::Ceil,
            "FLOOR" => Rounding::Floor,
            "UP" => Rounding::Up,
            "DOWN" | "ROUND_TO_ZERO" => Rounding::Down,
            "HALF_UP" => Rounding::HalfUp,
            "HALF_DOWN" => Rounding::HalfDown,
            other => return Err(format!("rounding mode `{other}` is not known")),
        })
    }
    pub fn apply(self, x: f64) -> f64 {
        match self {
            Rounding::HalfEven => x.round_ties_even(),
            Rounding::Ceil => x.ceil(),
            Rounding::Floor => x.floor(),
            Rounding::Up => x.signum() * x.abs().ceil(),
            Rounding::Down => x.trunc(),
            Rounding::HalfUp => x.signum() * (x.abs() + 0.5).floor(),
            Rounding::HalfDown => x.signum() * (x.abs() - 0.5).ceil(),
        }
    }
}

pub fn min_int(signed: bool, narrow: bool, bits: f64) -> f64 {
    if signed && narrow {
        -(2f64.powf(bits - 1.0)) + 1.0
    } else if signed {
        -(2f64.powf(bits - 1.0))
    } else {
        0.0
    }
}

pub fn max_int(signed: bool, narrow: bool, bits: f64) -> f64 {
    if !signed && !narrow {
        2f64.powf(bits) - 1.0
    } else if !signed {
        2f64.powf(bits) - 2.0
    } else {
        2f64.powf(bits - 1.0) - 1.0
    }
}

/// qonnx `int_quant` on one value: the integer code (before the zero point is subtracted) and the
/// output value.
pub fn int_quant(x: f64, scale: f64, zp: f64, bits: f64, signed: bool, narrow: bool, r: Rounding) -> (f64, f64) {
    let y = x / scale + zp;
    let code = if bits == 1.0 && signed {
        if y >= 0.0 { 1.0 } else { -1.0 }
    } else {
        r.apply(y.clamp(min_int(signed, narrow, bits), max_int(signed, narrow, bits)))
    };
    (code, (code - zp) * scale)
}

/// Codes an `int_quant` can output, ascending.
pub fn int_quant_codes(bits: f64, signed: bool, narrow: bool) -> Vec<f64> {
    if bits == 1.0 && signed {
        return vec![-1.0, 1.0];
    }
    let (lo, hi) = (min_int(signed, narrow, bits), max_int(signed, narrow, bits));
    (lo as i64..=hi as i64).map(|v| v as f64).collect()
}

#[derive(Clone, Debug)]
pub enum Kind {
    Mul(Vec<f64>),
    Div(Vec<f64>),
    Add(Vec<f64>),
    Sub(Vec<f64>),
    /// `c - x`
    RSub(Vec<f64>),
    Neg,
    BatchNorm { scale: Vec<f64>, bias: Vec<f64>, mean: Vec<f64>, var: Vec<f64>, eps: f64 },
    Relu,
    Clip { lo: f64, hi: f64 },
    Quant { scale: Vec<f64>, zp: Vec<f64>, bits: Vec<f64>, signed: bool, narrow: bool, rounding: Rounding },
    Bipolar { scale: Vec<f64> },
    Thresholds { t: Vec<Vec<f64>>, out_scale: f64, out_bias: f64 },
    /// Trunc v2 (`qonnx.custom_op.general.trunc.trunc_v2`).
    Trunc {
        scale: Vec<f64>,
        zp: Vec<f64>,
        out_scale: Vec<f64>,
        out_bits: Vec<f64>,
        signed: bool,
        narrow: bool,
        rounding: Rounding,
    },
    /// ONNX `Sign`: -1, 0 or +1.
    Sign,
    /// 2x2 max-pool: the identity on each value; commutes with the non-decreasing functions around it.
    Pool,
}

/// One element-wise op and the ONNX node it came from (for error messages).
#[derive(Clone, Debug)]
pub struct Step {
    pub node: String,
    pub op: String,
    pub kind: Kind,
}

fn at(v: &[f64], c: usize) -> f64 {
    if v.len() == 1 { v[0] } else { v[c] }
}

impl Step {
    pub fn is_quantizer(&self) -> bool {
        matches!(self.kind, Kind::Quant { .. } | Kind::Bipolar { .. } | Kind::Thresholds { .. } | Kind::Trunc { .. } | Kind::Sign)
    }
    /// Affine in its input (foldable into integer logits).
    pub fn is_affine(&self) -> bool {
        matches!(self.kind, Kind::Mul(_) | Kind::Div(_) | Kind::Add(_) | Kind::Sub(_) | Kind::RSub(_) | Kind::Neg | Kind::BatchNorm { .. })
    }

    /// Output value at channel `c` and, for a quantizer, the index of its output level (0-based, in
    /// the order of [`Step::levels`]).
    pub fn eval(&self, c: usize, x: f64) -> (f64, Option<usize>) {
        match &self.kind {
            Kind::Mul(v) => (x * at(v, c), None),
            Kind::Div(v) => (x / at(v, c), None),
            Kind::Add(v) => (x + at(v, c), None),
            Kind::Sub(v) => (x - at(v, c), None),
            Kind::RSub(v) => (at(v, c) - x, None),
            Kind::Neg => (-x, None),
            Kind::BatchNorm { scale, bias, mean, var, eps } => {
                ((x - at(mean, c)) / (at(var, c) + eps).sqrt() * at(scale, c) + at(bias, c), None)
            }
            Kind::Relu => (x.max(0.0), None),
            Kind::Clip { lo, hi } => (x.clamp(*lo, *hi), None),
            Kind::Pool => (x, None),
            Kind::Sign => {
                let l = if x > 0.0 { 2 } else if x < 0.0 { 0 } else { 1 };
                (l as f64 - 1.0, Some(l))
            }
            Kind::Quant { scale, zp, bits, signed, narrow, rounding } => {
                let (code, y) = int_quant(x, at(scale, c), at(zp, c), at(bits, c), *signed, *narrow, *rounding);
                let codes = int_quant_codes(at(bits, c), *signed, *narrow);
                // NaN (from non-finite inputs) has no level; the importer rejects non-finite constants.
                let idx = codes.iter().position(|&k| k == code).unwrap_or(0);
                (y, Some(idx))
            }
            Kind::Bipolar { scale } => {
                let q = x >= 0.0;
                (if q { at(scale, c) } else { -at(scale, c) }, Some(q as usize))
            }
            Kind::Thresholds { t, out_scale, out_bias } => {
                let row = if t.len() == 1 { &t[0] } else { &t[c] };
                let n = row.iter().filter(|&&th| x >= th).count();
                (out_scale * n as f64 + out_bias, Some(n))
            }
            Kind::Trunc { scale, zp, out_scale, out_bits, signed, narrow, rounding } => {
                let (code, y) = trunc_v2(x, at(scale, c), at(zp, c), at(out_scale, c), at(out_bits, c), *signed, *narrow, *rounding);
                let lo = min_int(*signed, *narrow, at(out_bits, c));
                let _ = y;
                (y, Some((code - lo) as usize))
            }
        }
    }

    /// Output values of a quantizer's levels at channel `c`, ascending by level index.
    pub fn levels(&self, c: usize) -> Vec<f64> {
        match &self.kind {
            Kind::Quant { scale, zp, bits, signed, narrow, .. } => int_quant_codes(at(bits, c), *signed, *narrow)
                .into_iter()
                .map(|k| (k - at(zp, c)) * at(scale, c))
                .collect(),
            Kind::Bipolar { scale } => vec![-at(scale, c), at(scale, c)],
            Kind::Sign => vec![-1.0, 0.0, 1.0],
            Kind::Thresholds { t, out_scale, out_bias } => {
                let n = if t.len() == 1 { t[0].len() } else { t[c].len() };
                (0..=n).map(|k| out_scale * k as f64 + out_bias).collect()
            }
            Kind::Trunc { zp, scale, out_scale, out_bits, signed, narrow, .. } => {
                let ts = trunc_scale(at(scale, c), at(out_scale, c));
                let (lo, hi) = (min_int(*signed, *narrow, at(out_bits, c)), max_int(*signed, *narrow, at(out_bits, c)));
                (lo as i64..=hi as i64).map(|k| (k as f64 - at(zp, c) / ts) * at(out_scale, c)).collect()
            }
            _ => vec![],
        }
    }
}

fn trunc_scale(scale: f64, out_scale: f64) -> f64 {
    2f64.powf((out_scale / scale).log2().round_ties_even())
}

/// qonnx `trunc_v2` on one value: (integer code, output value).
#[allow(clippy::too_many_arguments)]
pub fn trunc_v2(x: f64, scale: f64, zp: f64, out_scale: f64, out_bits: f64, signed: bool, narrow: bool, r: Rounding) -> (f64, f64) {
    let y = (x / scale + zp).round_ties_even();
    let ts = trunc_scale(scale, out_scale);
    let y = (y / ts).clamp(min_int(signed, narrow, out_bits), max_int(signed, narrow, out_bits));
    let code = r.apply(y);
    (code, (code - zp / ts) * out_scale)
}

/// Runs `steps` on `x` at channel `c`: the final value and the level index of the last quantizer.
pub fn eval_chain(steps: &[Step], c: usize, mut x: f64) -> (f64, Option<usize>) {
    let mut level = None;
    for s in steps {
        let (y, l) = s.eval(c, x);
        x = y;
        if l.is_some() {
            level = l;
        }
    }
    (x, level)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quant_matches_qonnx_definitions() {
        // 2-bit unsigned, scale 0.5: codes 0..=3
        assert_eq!(int_quant(0.74, 0.5, 0.0, 2.0, false, false, Rounding::HalfEven), (1.0, 0.5));
        assert_eq!(int_quant(0.75, 0.5, 0.0, 2.0, false, false, Rounding::HalfEven), (2.0, 1.0)); // 1.5 -> 2 (even)
        assert_eq!(int_quant(1.25, 0.5, 0.0, 2.0, false, false, Rounding::HalfEven), (2.0, 1.0)); // 2.5 -> 2 (even)
        assert_eq!(int_quant(9.0, 0.5, 0.0, 2.0, false, false, Rounding::HalfEven), (3.0, 1.5));
        assert_eq!(int_quant(-9.0, 1.0, 0.0, 4.0, true, true, Rounding::HalfEven).0, -7.0);
        assert_eq!(int_quant(-9.0, 1.0, 0.0, 4.0, true, false, Rounding::HalfEven).0, -8.0);
        assert_eq!(int_quant(-0.0, 1.0, 0.0, 1.0, true, false, Rounding::HalfEven).0, 1.0); // bipolar special case
        assert_eq!(int_quant_codes(2.0, true, true), vec![-1.0, 0.0, 1.0]);
        assert_eq!(Rounding::HalfUp.apply(-2.5), -3.0);
        assert_eq!(Rounding::HalfDown.apply(2.5), 2.0);
        assert_eq!(Rounding::Up.apply(-2.1), -3.0);
        let t = Step { node: "t".into(), op: "MultiThreshold".into(), kind: Kind::Thresholds { t: vec![vec![0.0, 1.0, 2.0]], out_scale: 2.0, out_bias: -1.0 } };
        assert_eq!(t.eval(5, 1.0), (3.0, Some(2)));
        assert_eq!(t.levels(0), vec![-1.0, 1.0, 3.0, 5.0]);
    }

    #[test]
    fn trunc_matches_qonnx_trunc_v2() {
        // qonnx.custom_op.general.trunc.trunc_v2(x, scale=0.5, zeropt=0, input_bit_width=8, narrow=0,
        // signed=1, output_scale=2.0, output_bit_width=4, "FLOOR") gives 12, -14, 14, 2.
        let step = Step {
            node: "t".into(),
            op: "Trunc".into(),
            kind: Kind::Trunc { scale: vec![0.5], zp: vec![0.0], out_scale: vec![2.0], out_bits: vec![4.0], signed: true, narrow: false, rounding: Rounding::Floor },
        };
        let levels = step.levels(0);
        assert_eq!(levels.len(), 16);
        for (x, want) in [(13.7, 12.0), (-13.7, -14.0), (100.0, 14.0), (3.1, 2.0)] {
            let (y, l) = step.eval(0, x);
            assert_eq!(y, want, "trunc({x})");
            assert_eq!(levels[l.unwrap()], want, "level of trunc({x})");
        }
    }
}
