//! Input quantizer: 8-bit pixels to A-bit activations by per-channel thresholds.

use super::{FeatureMap, MultiThreshold};
use crate::value::ActType;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputQuant {
    thresholds: MultiThreshold,
    /// Per channel, the activation of every pixel value: the fast path is a table lookup.
    table: Vec<[i32; 256]>,
}

impl InputQuant {
    pub fn new(thresholds: MultiThreshold) -> Self {
        let table = (0..thresholds.channels())
            .map(|c| std::array::from_fn(|p| thresholds.apply(c, p as i32)))
            .collect();
        InputQuant { thresholds, table }
    }

    /// The identity quantizer (8-bit output, thresholds 1..=255).
    pub fn identity(channels: usize) -> Self {
        let t = ndarray::Array2::from_shape_fn((channels, 255), |(_, i)| i as i32 + 1);
        Self::new(MultiThreshold::new(ActType { bits: 8 }, t).expect("ascending by construction"))
    }

    pub fn thresholds(&self) -> &MultiThreshold {
        &self.thresholds
    }
    pub fn out_type(&self) -> ActType {
        self.thresholds.out_type()
    }
    pub fn channels(&self) -> usize {
        self.thresholds.channels()
    }

    pub fn eval_reference(&self, x: &FeatureMap) -> FeatureMap {
        let mut y = x.clone();
        for ((_, _, c), v) in y.indexed_iter_mut() {
            *v = self.thresholds.apply_reference(c, *v as i64);
        }
        y
    }

    pub fn eval(&self, x: &FeatureMap) -> FeatureMap {
        let channels = self.channels();
        let mut y = x.as_standard_layout().into_owned();
        for (i, v) in y.as_slice_mut().expect("standard layout").iter_mut().enumerate() {
            *v = self.table[i % channels][(*v).clamp(0, 255) as usize];
        }
        y
    }
}
