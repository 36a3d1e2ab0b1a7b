//! The matrix-vector(-threshold) core shared by `conv` and `dense`: integer weights times an activation
//! vector, then a multi-threshold activation or, for the last layer, a bias (integer logits).

use super::threshold::MultiThreshold;
use crate::value::{ActType, WeightType};
use ndarray::Array2;

/// What follows the accumulator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutputStage {
    Threshold(MultiThreshold),
    /// Last layer: `logit[o] = acc[o] + bias[o]`.
    Bias(Vec<i32>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MatVec {
    in_type: ActType,
    weight_type: WeightType,
    /// `[rows][cols]`
    weights: Array2<i8>,
    output: OutputStage,
    fast: FastWeights,
}

/// Weights rearranged once for the fast path.
#[derive(Clone, Debug, PartialEq, Eq)]
enum FastWeights {
    /// Bipolar x bipolar: one bit per weight (1 = +1), `words` u64 per row, padding bits zero.
    Packed { words: usize, bits: Vec<u64> },
    /// Everything else: row-major i32 for a vectorisable dot product.
    Wide(Vec<i32>),
}

impl MatVec {
    pub fn new(
        in_type: ActType,
        weight_type: WeightType,
        weights: Array2<i8>,
        output: OutputStage,
    ) -> Result<Self, String> {
        let (rows, cols) = weights.dim();
        if rows == 0 || cols == 0 {
            return Err(format!("weight matrix is empty ({rows}x{cols})"));
        }
        if let Some(((r, c), &v)) = weights.indexed_iter().find(|(_, v)| !weight_type.contains(**v as i32)) {
            return Err(format!(
                "weight [{r}][{c}] = {v} is outside the range of {}-bit weights ({}..={}{})",
                weight_type.bits,
                weight_type.min(),
                weight_type.max(),
                if weight_type.is_bipolar() { ", bipolar: -1 or +1 only" } else { "" }
            ));
        }
        let max_acc = cols as i64 * weight_type.max_abs() * in_type.max_abs();
        match &output {
            OutputStage::Threshold(t) => {
                if t.channels() != rows {
                    return Err(format!("{} threshold channels for {rows} outputs", t.channels()));
                }
            }
            OutputStage::Bias(b) => {
                if b.len() != rows {
                    return Err(format!("{} biases for {rows} outputs", b.len()));
                }
                if let Some((o, &v)) = b.iter().enumerate().find(|(_, v)| max_acc + (**v as i64).abs() > i32::MAX as i64) {
                    return Err(format!("bias[{o}] = {v}: logit could overflow 32 bits"));
                }
            }
        }
        if max_acc > i32::MAX as i64 {
            return Err(format!("accumulator could reach {max_acc}, beyond 32 bits"));
        }
        let fast = if weight_type.is_bipolar() && in_type.is_bipolar() {
            let words = cols.div_ceil(64);
            let mut bits = vec![0u64; rows * words];
            for ((r, c), &v) in weights.indexed_iter() {
                if v > 0 {
                    bits[r * words + c / 64] |= 1 << (c % 64);
                }
            }
            FastWeights::Packed { words, bits }
        } else {
            FastWeights::Wide(weights.iter().map(|&v| v as i32).collect())
        };
        Ok(MatVec { in_type, weight_type, weights, output, fast })
    }

    pub fn rows(&self) -> usize {
        self.weights.nrows()
    }
    pub fn cols(&self) -> usize {
        self.weights.ncols()
    }
    pub fn in_type(&self) -> ActType {
        self.in_type
    }
    pub fn weight_type(&self) -> WeightType {
        self.weight_type
    }
    pub fn weights(&self) -> &Array2<i8> {
        &self.weights
    }
    pub fn output(&self) -> &OutputStage {
        &self.output
    }
    /// Output activation type; `None` for the logit layer.
    pub fn out_type(&self) -> Option<ActType> {
        match &self.output {
            OutputStage::Threshold(t) => Some(t.out_type()),
            OutputStage::Bias(_) => None,
        }
    }
    /// Largest |accumulator| any input can produce.
    pub fn max_abs_acc(&self) -> i64 {
        self.cols() as i64 * self.weight_type.max_abs() * self.in_type.max_abs()
    }

    /// Reference: obvious loops in 64-bit arithmetic.
    pub fn eval_reference(&self, x: &[i32]) -> Vec<i32> {
        assert_eq!(x.len(), self.cols(), "matvec input length");
        (0..self.rows())
            .map(|r| {
                let mut acc: i64 = 0;
                for c in 0..self.cols() {
                    acc += self.weights[[r, c]] as i64 * x[c] as i64;
                }
                match &self.output {
                    OutputStage::Threshold(t) => t.apply_reference(r, acc),
                    OutputStage::Bias(b) => (acc + b[r] as i64) as i32,
                }
            })
            .collect()
    }

    /// Accumulators only (no output stage), fast path. `scratch` is reused between calls.
    pub fn accumulate(&self, x: &[i32], scratch: &mut Vec<u64>, acc: &mut [i32]) {
        debug_assert_eq!(x.len(), self.cols());
        let cols = self.cols();
        match &self.fast {
            FastWeights::Packed { words, bits } => {
                scratch.clear();
                scratch.resize(*words, 0);
                for (c, &v) in x.iter().enumerate() {
                    if v > 0 {
                        scratch[c / 64] |= 1 << (c % 64);
                    }
                }
                for (r, a) in acc.iter_mut().enumerate() {
                    let row = &bits[r * words..(r + 1) * words];
                    let differ: u32 = row.iter().zip(scratch.iter()).map(|(w, x)| (w ^ x).count_ones()).sum();
                    // Padding bits are zero in both, so they never differ: dot = agree - differ.
                    *a = cols as i32 - 2 * differ as i32;
                }
            }
            FastWeights::Wide(w) => {
                for (r, a) in acc.iter_mut().enumerate() {
                    let row = &w[r * cols..(r + 1) * cols];
                    *a = row.iter().zip(x).map(|(w, x)| w * x).sum();
                }
            }
        }
    }

    /// Fast path: accumulate, then the output stage.
    pub fn eval(&self, x: &[i32], scratch: &mut Vec<u64>, out: &mut [i32]) {
        self.accumulate(x, scratch, out);
        match &self.output {
            OutputStage::Threshold(t) => {
                for (r, a) in out.iter_mut().enumerate() {
                    *a = t.apply(r, *a);
                }
            }
            OutputStage::Bias(b) => {
                for (a, b) in out.iter_mut().zip(b) {
                    *a += b;
                }
            }
        }
    }
}
