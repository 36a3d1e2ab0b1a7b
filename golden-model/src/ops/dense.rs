//! Fully connected layer; its input is the previous feature map flattened in HWC order.

use super::{FeatureMap, MatVec, Shape};
use crate::fast::Level;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dense {
    mv: MatVec,
}

impl Dense {
    pub fn new(mv: MatVec) -> Self {
        Dense { mv }
    }
    pub fn matvec(&self) -> &MatVec {
        &self.mv
    }
    pub fn in_features(&self) -> usize {
        self.mv.cols()
    }
    pub fn out_features(&self) -> usize {
        self.mv.rows()
    }

    pub fn output_shape(&self, input: Shape) -> Result<Shape, String> {
        if input.len() != self.in_features() {
            return Err(format!("input {input} has {} values, layer expects {}", input.len(), self.in_features()));
        }
        Ok(Shape::new(1, 1, self.out_features()))
    }

    pub fn eval_reference(&self, x: &FeatureMap) -> FeatureMap {
        let flat: Vec<i32> = x.iter().copied().collect();
        let y = self.mv.eval_reference(&flat);
        FeatureMap::from_shape_vec((1, 1, y.len()), y).expect("shape matches length")
    }

    pub fn eval(&self, x: &FeatureMap) -> FeatureMap {
        self.eval_at(x, Level::current())
    }

    /// [`Dense::eval`] with the kernels of `level` (which this CPU must support).
    pub fn eval_at(&self, x: &FeatureMap, level: Level) -> FeatureMap {
        let x = x.as_standard_layout();
        let mut y = vec![0i32; self.out_features()];
        self.mv.eval_at(x.as_slice().expect("standard layout"), level, &mut y);
        FeatureMap::from_shape_vec((1, 1, y.len()), y).expect("shape matches length")
    }
}
