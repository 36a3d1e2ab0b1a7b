//! 2x2 max-pool, stride 2, floor: an odd last row or column is dropped.

use super::{FeatureMap, Shape};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MaxPool;

pub const POOL: usize = 2;

impl MaxPool {
    pub fn output_shape(input: Shape) -> Result<Shape, String> {
        if input.height < POOL || input.width < POOL {
            return Err(format!("max-pool input {input} is smaller than {POOL}x{POOL}"));
        }
        Ok(Shape::new(input.height / POOL, input.width / POOL, input.channels))
    }

    pub fn eval_reference(x: &FeatureMap) -> FeatureMap {
        let (h, w, c) = x.dim();
        FeatureMap::from_shape_fn((h / POOL, w / POOL, c), |(oy, ox, ch)| {
            let mut m = i32::MIN;
            for dy in 0..POOL {
                for dx in 0..POOL {
                    m = m.max(x[[oy * POOL + dy, ox * POOL + dx, ch]]);
                }
            }
            m
        })
    }

    /// Row-slice version: two input rows at a time, channels contiguous.
    pub fn eval(x: &FeatureMap) -> FeatureMap {
        let x = x.as_standard_layout();
        let (h, w, c) = x.dim();
        let (oh, ow) = (h / POOL, w / POOL);
        let src = x.as_slice().expect("standard layout");
        let mut out = vec![0i32; oh * ow * c];
        for oy in 0..oh {
            let r0 = &src[(2 * oy) * w * c..(2 * oy + 1) * w * c];
            let r1 = &src[(2 * oy + 1) * w * c..(2 * oy + 2) * w * c];
            let dst = &mut out[oy * ow * c..(oy + 1) * ow * c];
            for ox in 0..ow {
                let (a, b) = (2 * ox * c, (2 * ox + 1) * c);
                for ch in 0..c {
                    dst[ox * c + ch] = r0[a + ch].max(r0[b + ch]).max(r1[a + ch]).max(r1[b + ch]);
                }
            }
        }
        FeatureMap::from_shape_vec((oh, ow, c), out).expect("shape matches length")
    }
}
