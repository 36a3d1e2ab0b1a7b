//! Hand-computed cases pinning the numeric contract of docs/architecture.md.

use golden_model::ops::{Conv, Dense, FeatureMap, MatVec, MaxPool, MultiThreshold, OutputStage};
use golden_model::{ActType, WeightType, argmax};
use ndarray::{Array2, array};

fn mt(bits: u8, t: Array2<i32>) -> MultiThreshold {
    MultiThreshold::new(ActType { bits }, t).unwrap()
}

#[test]
fn threshold_is_non_strict_and_counts_levels() {
    let t = mt(2, array![[-1, 2, 2]]);
    assert_eq!(t.apply(0, -2), 0);
    assert_eq!(t.apply(0, -1), 1, "acc == T counts (non-strict)");
    assert_eq!(t.apply(0, 1), 1);
    assert_eq!(t.apply(0, 2), 3, "equal thresholds are passed together");
    let b = mt(1, array![[0]]);
    assert_eq!((b.apply(0, -1), b.apply(0, 0)), (-1, 1), "1-bit output is bipolar");
}

#[test]
fn descending_thresholds_are_rejected_with_the_channel() {
    let e = MultiThreshold::new(ActType { bits: 2 }, array![[0, 1, 2], [3, 1, 4]]).unwrap_err();
    assert!(e.contains("channel 1"), "{e}");
}

#[test]
fn bipolar_dot_product_is_signed_not_popcount() {
    // w = [+1,-1,+1], x = [+1,+1,-1] -> 1 - 1 - 1 = -1
    let w = array![[1i8, -1, 1]];
    let mv = MatVec::new(ActType { bits: 1 }, WeightType { bits: 1 }, w, OutputStage::Bias(vec![10])).unwrap();
    let mut out = [0];
    mv.eval(&[1, 1, -1], &mut Vec::new(), &mut out);
    assert_eq!(out, [9]);
    assert_eq!(mv.eval_reference(&[1, 1, -1]), vec![9]);
}

#[test]
fn conv_window_order_is_ky_kx_channel() {
    // 2x2 kernel over a 2x2x2 input: one output; weights pick out column 5 = (ky=1, kx=0, ic=1).
    let mut w = Array2::<i8>::zeros((1, 8));
    w[[0, 5]] = 1;
    let mv = MatVec::new(ActType { bits: 8 }, WeightType { bits: 2 }, w, OutputStage::Threshold(mt(8, Array2::from_shape_fn((1, 255), |(_, i)| i as i32 + 1)))).unwrap();
    let conv = Conv::new(2, 2, mv).unwrap();
    let x = FeatureMap::from_shape_fn((2, 2, 2), |(y, x, c)| (y * 4 + x * 2 + c) as i32 * 10);
    assert_eq!(conv.eval(&x)[[0, 0, 0]], 50);
    assert_eq!(conv.eval_reference(&x)[[0, 0, 0]], 50);
}

#[test]
fn maxpool_floors_odd_sizes() {
    let x = FeatureMap::from_shape_fn((3, 5, 1), |(y, x, _)| (y * 5 + x) as i32);
    let y = MaxPool::eval(&x);
    assert_eq!(y.dim(), (1, 2, 1));
    assert_eq!(y.iter().copied().collect::<Vec<_>>(), vec![6, 8]);
}

#[test]
fn dense_flattens_hwc() {
    let w = array![[0i8, 0, 0, 1]];
    let d = Dense::new(MatVec::new(ActType { bits: 4 }, WeightType { bits: 2 }, w, OutputStage::Bias(vec![0])).unwrap());
    let x = FeatureMap::from_shape_vec((2, 1, 2), vec![1, 2, 3, 4]).unwrap();
    assert_eq!(d.eval(&x)[[0, 0, 0]], 4);
}

#[test]
fn argmax_ties_go_to_lowest_index() {
    assert_eq!(argmax(&[3, 3]), 0);
    assert_eq!(argmax(&[-5, -4]), 1);
}

#[test]
fn out_of_range_weights_are_rejected() {
    let e = MatVec::new(ActType { bits: 1 }, WeightType { bits: 1 }, array![[0i8]], OutputStage::Bias(vec![0])).unwrap_err();
    assert!(e.contains("weight [0][0] = 0"), "{e}");
    let e = MatVec::new(ActType { bits: 1 }, WeightType { bits: 4 }, array![[8i8]], OutputStage::Bias(vec![0])).unwrap_err();
    assert!(e.contains("-8..=7"), "{e}");
}
