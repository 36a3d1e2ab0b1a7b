//! The matrix-vector(-threshold) core shared by `conv` and `dense`: integer weights times an activation
//! vector, then a multi-threshold activation or, for the last layer, a bias (integer logits).

use super::threshold::MultiThreshold;
use crate::fast::plan::{self, Map};
use crate::fast::{Level, Packed};
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
    /// Weights packed once for the fast kernels, as one segment (a conv repacks them per kernel row).
    packed: Packed,
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
        let packed = Packed::new(in_type, weight_type, &weights, &output, 1);
        Ok(MatVec { in_type, weight_type, weights, output, packed })
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
    #[allow(clippy::needless_range_loop)] // the index form is the definition, on purpose
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

    pub(crate) fn packed(&self) -> &Packed {
        &self.packed
    }

    /// Repacks the weights as `segs` equal segments of columns (a conv's kernel rows).
    pub(crate) fn with_segments(mut self, segs: usize) -> Self {
        self.packed = Packed::new(self.in_type, self.weight_type, &self.weights, &self.output, segs);
        self
    }

    /// Accumulators only (no output stage), fast path. `scratch` is unused (kept for callers of the
    /// earlier u64 kernel).
    pub fn accumulate(&self, x: &[i32], scratch: &mut Vec<u64>, acc: &mut [i32]) {
        let _ = scratch;
        let bias = MatVec::new(self.in_type, self.weight_type, self.weights.clone(), OutputStage::Bias(vec![0; self.rows()]))
            .expect("same weights, zero bias");
        bias.eval_at(x, Level::current(), acc);
    }

    /// Fast path: accumulate, then the output stage. `scratch` is unused (see [`MatVec::accumulate`]).
    pub fn eval(&self, x: &[i32], scratch: &mut Vec<u64>, out: &mut [i32]) {
        let _ = scratch;
        self.eval_at(x, Level::current(), out);
    }

    /// [`MatVec::eval`] with the kernels of `level` (which this CPU must support).
    pub fn eval_at(&self, x: &[i32], level: Level, out: &mut [i32]) {
        assert_eq!(x.len(), self.cols(), "matvec input length");
        assert_eq!(out.len(), self.rows(), "matvec output length");
        level.check();
        let xm = ndarray::Array3::from_shape_vec((1, 1, x.len()), x.to_vec()).expect("length");
        let input = Map::from_feature_map(&xm, self.in_type, plan::input_repr(&self.packed));
        let (mut y, mut logits) = (Map::default(), vec![]);
        let mut work = plan::Work::default();
        plan::matvec(&self.packed, level, &input, None, false, None, &mut y, &mut logits, &mut work);
        match self.out_type() {
            None => out.copy_from_slice(&logits),
            Some(t) => {
                for (o, v) in out.iter_mut().zip(y.to_feature_map(t).iter()) {
                    *o = *v;
                }
            }
        }
    }
}
