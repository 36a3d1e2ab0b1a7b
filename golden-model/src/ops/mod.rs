//! Ops as data. Each op has `eval_reference` (plain loops, obviously right) and `eval` (the fast path
//! used for inference); property tests in `tests/ops_agree.rs` show the two agree.

pub mod conv;
pub mod dense;
pub mod input_quant;
pub mod matvec;
pub mod maxpool;
pub mod threshold;

pub use conv::Conv;
pub use dense::Dense;
pub use input_quant::InputQuant;
pub use matvec::{MatVec, OutputStage};
pub use maxpool::MaxPool;
pub use threshold::MultiThreshold;

use ndarray::Array3;
use serde::{Deserialize, Serialize};

/// A feature map `(height, width, channels)`, channels fastest, as the hardware streams it.
pub type FeatureMap = Array3<i32>;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Shape {
    pub height: usize,
    pub width: usize,
    pub channels: usize,
}

impl Shape {
    pub fn new(height: usize, width: usize, channels: usize) -> Self {
        Shape { height, width, channels }
    }
    pub fn len(&self) -> usize {
        self.height * self.width * self.channels
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn pixels(&self) -> usize {
        self.height * self.width
    }
    pub fn dim(&self) -> (usize, usize, usize) {
        (self.height, self.width, self.channels)
    }
}

impl std::fmt::Display for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{}x{}", self.height, self.width, self.channels)
    }
}

pub(crate) fn shape_of(x: &FeatureMap) -> Shape {
    let (h, w, c) = x.dim();
    Shape::new(h, w, c)
}
