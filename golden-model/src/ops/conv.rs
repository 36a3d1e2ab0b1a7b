//! k x k convolution, stride 1, no padding, followed by a multi-threshold activation.
//! The weight matrix is `[out_ch][k*k*in_ch]` with columns in `(ky, kx, ic)` order: the order in which
//! the hardware's sliding-window generator emits a window.

use super::{FeatureMap, MatVec, OutputStage, Shape};
use crate::fast::Level;
use crate::fast::plan::{self, Map};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conv {
    kernel: usize,
    in_channels: usize,
    mv: MatVec,
}

impl Conv {
    pub fn new(kernel: usize, in_channels: usize, mv: MatVec) -> Result<Self, String> {
        if kernel == 0 || in_channels == 0 {
            return Err(format!("kernel {kernel} and input channels {in_channels} must be positive"));
        }
        if mv.cols() != kernel * kernel * in_channels {
            return Err(format!(
                "weight matrix has {} columns, a {kernel}x{kernel} kernel over {in_channels} channels needs {}",
                mv.cols(),
                kernel * kernel * in_channels
            ));
        }
        if !matches!(mv.output(), OutputStage::Threshold(_)) {
            return Err("a conv layer needs a threshold activation (only the last dense layer has logits)".into());
        }
        Ok(Conv { kernel, in_channels, mv: mv.with_segments(kernel) })
    }

    pub fn kernel(&self) -> usize {
        self.kernel
    }
    pub fn in_channels(&self) -> usize {
        self.in_channels
    }
    pub fn out_channels(&self) -> usize {
        self.mv.rows()
    }
    pub fn matvec(&self) -> &MatVec {
        &self.mv
    }

    pub fn output_shape(&self, input: Shape) -> Result<Shape, String> {
        if input.channels != self.in_channels {
            return Err(format!("input has {} channels, layer expects {}", input.channels, self.in_channels));
        }
        if input.height < self.kernel || input.width < self.kernel {
            return Err(format!("input {input} is smaller than the {0}x{0} kernel", self.kernel));
        }
        Ok(Shape::new(input.height - self.kernel + 1, input.width - self.kernel + 1, self.out_channels()))
    }

    pub fn eval_reference(&self, x: &FeatureMap) -> FeatureMap {
        let (h, w, _) = x.dim();
        let k = self.kernel;
        let (oh, ow) = (h - k + 1, w - k + 1);
        let mut y = FeatureMap::zeros((oh, ow, self.out_channels()));
        for oy in 0..oh {
            for ox in 0..ow {
                let mut window = Vec::with_capacity(self.mv.cols());
                for ky in 0..k {
                    for kx in 0..k {
                        for ic in 0..self.in_channels {
                            window.push(x[[oy + ky, ox + kx, ic]]);
                        }
                    }
                }
                for (o, v) in self.mv.eval_reference(&window).into_iter().enumerate() {
                    y[[oy, ox, o]] = v;
                }
            }
        }
        y
    }

    /// Fast path: the window's `k` rows are read in place from the packed map (no im2col copy).
    pub fn eval(&self, x: &FeatureMap) -> FeatureMap {
        self.eval_at(x, Level::current())
    }

    /// [`Conv::eval`] with the kernels of `level` (which this CPU must support).
    pub fn eval_at(&self, x: &FeatureMap, level: Level) -> FeatureMap {
        level.check();
        let p = self.mv.packed();
        let input = Map::from_feature_map(x, self.mv.in_type(), plan::input_repr(p));
        let (mut y, mut logits) = (Map::default(), vec![]);
        let mut work = plan::Work::default();
        plan::matvec(p, level, &input, Some(self.kernel), false, None, &mut y, &mut logits, &mut work);
        y.to_feature_map(self.mv.out_type().expect("a conv has a threshold activation"))
    }
}
