//! Export of the eval-mode training graph ([`IntNet`]) to a golden-model [`Model`].
//!
//! Each hidden channel's batch norm and quantizer is the monotone function
//! `level(acc) = act(a * acc + b)` of the integer accumulator ([`LevelFn`]). Its thresholds are found
//! by binary search over the reachable accumulator range: `T_i` is the smallest accumulator whose level
//! is at least `i`, so `#{i : acc >= T_i} = level(acc)` for every reachable `acc`, by construction.
//! A channel with `a < 0` (negative batch-norm scale) has its weight row negated first, so its level is
//! non-decreasing in the new accumulator and its thresholds ascend.

use crate::net::{IntKind, IntNet, LevelFn};
use golden_model::ops::{Conv, Dense, InputQuant, MatVec, MultiThreshold, OutputStage};
use golden_model::value::{ActType, WeightType};
use golden_model::{Layer, Model, ModelError, Op, Provenance, Shape};
use ndarray::Array2;

/// Class names of the exported models (index 1 is the positive class).
pub const CLASS_NAMES: [&str; 2] = ["NORMAL", "PNEUMONIA"];

/// Thresholds of one channel: `T_i = min { t in [-m, m] : g(t) >= i }` (or `m + 1` when no reachable
/// accumulator gets there), `g(t) = level(sign * t)`.
pub fn channel_thresholds(f: &LevelFn, c: usize, negate: bool, max_acc: i64) -> Vec<i32> {
    let g = |t: i64| f.level(c, if negate { -t } else { t });
    let levels = f.act.levels();
    (1..=levels)
        .map(|i| {
            if g(max_acc) < i {
                return max_acc + 1;
            }
            if g(-max_acc) >= i {
                return -max_acc;
            }
            // Invariant: g(lo) < i <= g(hi).
            let (mut lo, mut hi) = (-max_acc, max_acc);
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                if g(mid) >= i { hi = mid } else { lo = mid }
            }
            hi
        })
        .map(|t| i32::try_from(t).expect("accumulator bound fits in i32"))
        .collect()
}

fn input_type(int: &IntNet, layer: usize) -> ActType {
    if layer == 0 {
        ActType { bits: int.input.bits }
    } else {
        match &int.layers[layer - 1].kind {
            IntKind::Hidden(f) => ActType { bits: f.act.bits },
            IntKind::Logits { .. } => unreachable!("logits are last"),
        }
    }
}

/// The golden model of `int` with decision offset `offset` added to logit 1 (`bias = [0, offset]`:
/// label 1 iff `acc1 - acc0 + offset > 0`).
pub fn export(int: &IntNet, offset: i64, name: &str, provenance: Provenance) -> Result<Model, ModelError> {
    let first = &int.layers[0].geom;
    let input_shape = Shape::new(first.ih, first.iw, first.cin);
    let mut layers = vec![];
    let iq = if int.input.bits == 8 {
        InputQuant::identity(first.cin)
    } else {
        let t = int.input.thresholds();
        let arr = Array2::from_shape_fn((first.cin, t.len()), |(_, i)| t[i]);
        InputQuant::new(MultiThreshold::new(ActType { bits: int.input.bits }, arr).map_err(ModelError::Model)?)
    };
    layers.push(Layer { name: "input".into(), op: Op::InputQuant(iq) });
    let (mut nconv, mut nfc) = (0, 0);
    for (i, l) in int.layers.iter().enumerate() {
        let in_type = input_type(int, i);
        let wtype = WeightType { bits: l.wbits };
        let k = l.geom.k();
        let max_acc = k as i64 * wtype.max_abs() * in_type.max_abs();
        let layer_err = |msg: String| ModelError::Layer { layer: layers.len(), name: format!("layer {i}"), msg };
        let (weights, output) = match &l.kind {
            IntKind::Hidden(f) => {
                let negate: Vec<bool> = (0..l.cout).map(|c| f.a[c] < 0.0).collect();
                let w = Array2::from_shape_fn((l.cout, k), |(r, c)| {
                    let v = l.wint[r * k + c];
                    (if negate[r] { -v } else { v }) as i8
                });
                let nt = f.act.levels() as usize;
                let mut t = Array2::<i32>::zeros((l.cout, nt));
                for c in 0..l.cout {
                    for (j, v) in channel_thresholds(f, c, negate[c], max_acc).into_iter().enumerate() {
                        t[[c, j]] = v;
                    }
                }
                let mt = MultiThreshold::new(ActType { bits: f.act.bits }, t).map_err(layer_err)?;
                (w, OutputStage::Threshold(mt))
            }
            IntKind::Logits { .. } => {
                let w = Array2::from_shape_fn((l.cout, k), |(r, c)| l.wint[r * k + c] as i8);
                let mut bias = vec![0i32; l.cout];
                if l.cout > 1 {
                    bias[1] = i32::try_from(offset).map_err(|_| layer_err(format!("decision offset {offset} does not fit in 32 bits")))?;
                }
                (w, OutputStage::Bias(bias))
            }
        };
        let mv = MatVec::new(in_type, wtype, weights, output).map_err(layer_err)?;
        let (lname, op) = if l.is_conv {
            nconv += 1;
            (format!("conv{nconv}"), Op::Conv(Conv::new(l.geom.kh, l.geom.cin, mv).map_err(layer_err)?))
        } else {
            nfc += 1;
            (format!("fc{nfc}"), Op::Dense(Dense::new(mv)))
        };
        layers.push(Layer { name: lname, op });
        if l.pool {
            layers.push(Layer { name: format!("pool{nconv}"), op: Op::MaxPool });
        }
    }
    let classes = CLASS_NAMES.iter().take(int.layers.last().map_or(2, |l| l.cout)).map(|s| s.to_string()).collect();
    Model::new(name, input_shape, classes, layers, provenance)
}

/// Largest decision offset magnitude worth considering: beyond `2 * max |acc|` of the logit layer
/// every image gets the same label.
pub fn max_offset(int: &IntNet) -> i64 {
    let i = int.layers.len() - 1;
    let l = &int.layers[i];
    let in_type = input_type(int, i);
    2 * l.geom.k() as i64 * WeightType { bits: l.wbits }.max_abs() * in_type.max_abs() + 1
}
