//! The whole network: an input quantizer, conv / max-pool / dense layers, and a logit layer.

use crate::error::{ModelError, Result};
use crate::fast::Level;
use crate::fast::plan::{Plan, Scratch};
use crate::ops::{Conv, Dense, FeatureMap, InputQuant, MaxPool, OutputStage, Shape, shape_of};
use crate::value::ActType;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    InputQuant(InputQuant),
    Conv(Conv),
    MaxPool,
    Dense(Dense),
}

impl Op {
    pub fn kind(&self) -> &'static str {
        match self {
            Op::InputQuant(_) => "input_quant",
            Op::Conv(_) => "conv",
            Op::MaxPool => "maxpool",
            Op::Dense(_) => "dense",
        }
    }

    pub fn output_shape(&self, input: Shape) -> Result<Shape, String> {
        match self {
            Op::InputQuant(q) => {
                if q.channels() != input.channels {
                    return Err(format!("{} threshold channels for a {}-channel input", q.channels(), input.channels));
                }
                Ok(input)
            }
            Op::Conv(c) => c.output_shape(input),
            Op::MaxPool => MaxPool::output_shape(input),
            Op::Dense(d) => d.output_shape(input),
        }
    }

    pub fn eval_reference(&self, x: &FeatureMap) -> FeatureMap {
        match self {
            Op::InputQuant(q) => q.eval_reference(x),
            Op::Conv(c) => c.eval_reference(x),
            Op::MaxPool => MaxPool::eval_reference(x),
            Op::Dense(d) => d.eval_reference(x),
        }
    }

    pub fn eval(&self, x: &FeatureMap) -> FeatureMap {
        self.eval_at(x, Level::current())
    }

    /// [`Op::eval`] with the kernels of `level` (which this CPU must support).
    pub fn eval_at(&self, x: &FeatureMap, level: Level) -> FeatureMap {
        match self {
            Op::InputQuant(q) => q.eval(x),
            Op::Conv(c) => c.eval_at(x, level),
            Op::MaxPool => MaxPool::eval(x),
            Op::Dense(d) => d.eval_at(x, level),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layer {
    pub name: String,
    pub op: Op,
}

/// Where a model came from. Free-form `metrics` and `extra` keep the file self-describing without
/// a format bump for every new figure.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Hash of the training data the model saw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_hash: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metrics: BTreeMap<String, serde_json::Value>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// Result of one image: integer logits and the argmax label (ties to the lowest index).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inference {
    pub logits: Vec<i32>,
    pub label: usize,
}

impl Inference {
    pub fn from_logits(logits: Vec<i32>) -> Self {
        let label = argmax(&logits);
        Inference { logits, label }
    }
    /// Decision score for the positive class (index 1) against class 0; used for AUC.
    pub fn score(&self) -> i64 {
        self.logits.get(1).copied().unwrap_or(0) as i64 - self.logits[0] as i64
    }
}

/// Index of the largest value; the lowest index wins ties, as in the hardware's label unit.
pub fn argmax(v: &[i32]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}

#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    name: String,
    input: Shape,
    classes: Vec<String>,
    layers: Vec<Layer>,
    /// Output shape of every layer.
    shapes: Vec<Shape>,
    /// The layers as steps over packed maps, for [`Model::infer`].
    plan: Plan,
    pub provenance: Provenance,
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

impl Model {
    /// Validates the chain of layers: shapes, bit widths from layer to layer, the single input
    /// quantizer first and the single logit layer last.
    pub fn new(
        name: impl Into<String>,
        input: Shape,
        classes: Vec<String>,
        layers: Vec<Layer>,
        provenance: Provenance,
    ) -> Result<Self> {
        let err = |i: usize, l: &Layer, msg: String| ModelError::Layer { layer: i, name: l.name.clone(), msg };
        if input.is_empty() {
            return Err(ModelError::Model(format!("input shape {input} is empty")));
        }
        if classes.len() < 2 {
            return Err(ModelError::Model(format!("{} classes; a classifier needs at least 2", classes.len())));
        }
        if layers.is_empty() {
            return Err(ModelError::Model("no layers".into()));
        }
        let mut shapes = Vec::with_capacity(layers.len());
        let mut shape = input;
        let mut act: Option<ActType> = None;
        let mut names = std::collections::HashSet::new();
        for (i, l) in layers.iter().enumerate() {
            if l.name.is_empty() || !names.insert(l.name.as_str()) {
                return Err(err(i, l, "layer names must be unique and non-empty".into()));
            }
            let last = i + 1 == layers.len();
            match (&l.op, i) {
                (Op::InputQuant(q), 0) => act = Some(q.out_type()),
                (Op::InputQuant(_), _) => return Err(err(i, l, "only the first layer may be an input quantizer".into())),
                (_, 0) => return Err(err(i, l, "the first layer must be an input quantizer".into())),
                (Op::MaxPool, _) => {}
                (Op::Conv(c), _) => {
                    let mv = c.matvec();
                    check_in_type(act, mv.in_type()).map_err(|m| err(i, l, m))?;
                    act = mv.out_type();
                }
                (Op::Dense(d), _) => {
                    let mv = d.matvec();
                    check_in_type(act, mv.in_type()).map_err(|m| err(i, l, m))?;
                    match (mv.output(), last) {
                        (OutputStage::Bias(_), false) => {
                            return Err(err(i, l, "only the last layer may output logits".into()));
                        }
                        (OutputStage::Threshold(_), true) => {
                            return Err(err(i, l, "the last layer must output logits (no activation)".into()));
                        }
                        _ => {}
                    }
                    if last && d.out_features() != classes.len() {
                        return Err(err(i, l, format!("{} outputs for {} classes", d.out_features(), classes.len())));
                    }
                    act = mv.out_type();
                }
            }
            if last && !matches!(l.op, Op::Dense(_)) {
                return Err(err(i, l, "the last layer must be a dense logit layer".into()));
            }
            shape = l.op.output_shape(shape).map_err(|m| err(i, l, m))?;
            shapes.push(shape);
        }
        let plan = Plan::new(input, &layers);
        Ok(Model { name: name.into(), input, classes, layers, shapes, plan, provenance })
    }

    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn input_shape(&self) -> Shape {
        self.input
    }
    pub fn classes(&self) -> &[String] {
        &self.classes
    }
    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }
    /// Output shape of layer `i`.
    pub fn output_shape(&self, i: usize) -> Shape {
        self.shapes[i]
    }
    /// Input shape of layer `i`.
    pub fn layer_input_shape(&self, i: usize) -> Shape {
        if i == 0 { self.input } else { self.shapes[i - 1] }
    }

    /// `pixels` in HWC order, `height * width * channels` values.
    pub fn input_map(&self, pixels: &[u8]) -> Result<FeatureMap> {
        let (h, w, c) = self.input.dim();
        if pixels.len() != self.input.len() {
            return Err(ModelError::InputShape { got: pixels.len(), expected: self.input.len(), h, w, c });
        }
        Ok(FeatureMap::from_shape_vec((h, w, c), pixels.iter().map(|&p| p as i32).collect())
            .expect("length checked"))
    }

    /// Output of every layer, fast path. The last entry holds the logits as a `1x1xclasses` map.
    pub fn trace(&self, pixels: &[u8]) -> Result<Vec<FeatureMap>> {
        let mut x = self.input_map(pixels)?;
        let mut outs = Vec::with_capacity(self.layers.len());
        for l in &self.layers {
            x = l.op.eval(&x);
            debug_assert_eq!(shape_of(&x), self.shapes[outs.len()]);
            outs.push(x.clone());
        }
        Ok(outs)
    }

    /// Logits and label of one image, fast path (packed maps, fused conv + pool, SIMD kernels of
    /// [`Level::current`]).
    pub fn infer(&self, pixels: &[u8]) -> Result<Inference> {
        self.infer_at(pixels, Level::current())
    }

    /// [`Model::infer`] with the kernels of `level` (which this CPU must support).
    pub fn infer_at(&self, pixels: &[u8], level: Level) -> Result<Inference> {
        level.check();
        SCRATCH.with(|s| self.infer_with(pixels, level, &mut s.borrow_mut()))
    }

    fn infer_with(&self, pixels: &[u8], level: Level, s: &mut Scratch) -> Result<Inference> {
        self.check_input(pixels)?;
        self.plan.run(&self.layers, level, pixels, s);
        Ok(Inference::from_logits(s.logits.clone()))
    }

    fn check_input(&self, pixels: &[u8]) -> Result<()> {
        if pixels.len() != self.input.len() {
            let (h, w, c) = self.input.dim();
            return Err(ModelError::InputShape { got: pixels.len(), expected: self.input.len(), h, w, c });
        }
        Ok(())
    }

    /// [`Model::infer`] of every image, in order, on the threads of the current rayon pool (all cores
    /// unless called inside `ThreadPool::install`). Each image is computed alone, so the results are
    /// the same for any number of threads. An image of the wrong size is an error naming its index.
    pub fn infer_batch(&self, images: &[&[u8]]) -> std::result::Result<Vec<Inference>, (usize, ModelError)> {
        self.infer_batch_at(images, Level::current())
    }

    /// [`Model::infer_batch`] with the kernels of `level` (which this CPU must support).
    pub fn infer_batch_at(&self, images: &[&[u8]], level: Level) -> std::result::Result<Vec<Inference>, (usize, ModelError)> {
        use rayon::prelude::*;
        level.check();
        if let Some((i, e)) = images.iter().enumerate().find_map(|(i, p)| self.check_input(p).err().map(|e| (i, e))) {
            return Err((i, e));
        }
        Ok(images
            .par_iter()
            .map_init(Scratch::default, |s, p| self.infer_with(p, level, s).expect("input sizes checked"))
            .collect())
    }

    pub fn infer_reference(&self, pixels: &[u8]) -> Result<Inference> {
        let mut x = self.input_map(pixels)?;
        for l in &self.layers {
            x = l.op.eval_reference(&x);
        }
        Ok(Inference::from_logits(x.iter().copied().collect()))
    }

    /// Short human description, e.g. `w1a1 conv(3,16) pool conv(3,32) ... dense(2)`.
    pub fn summary(&self) -> String {
        let mut parts = vec![];
        for (i, l) in self.layers.iter().enumerate() {
            let s = self.shapes[i];
            parts.push(match &l.op {
                Op::InputQuant(q) => format!("{}: quant {}b {}", l.name, q.out_type().bits, s),
                Op::Conv(c) => format!(
                    "{}: conv{k}x{k} w{}a{} -> {}",
                    l.name,
                    c.matvec().weight_type().bits,
                    c.matvec().in_type().bits,
                    s,
                    k = c.kernel()
                ),
                Op::MaxPool => format!("{}: maxpool -> {}", l.name, s),
                Op::Dense(d) => format!(
                    "{}: dense w{}a{} -> {}",
                    l.name,
                    d.matvec().weight_type().bits,
                    d.matvec().in_type().bits,
                    d.out_features()
                ),
            });
        }
        parts.join("\n")
    }
}

fn check_in_type(prev: Option<ActType>, expected: ActType) -> Result<(), String> {
    match prev {
        Some(p) if p == expected => Ok(()),
        Some(p) => Err(format!("expects {}-bit inputs but the previous layer produces {}-bit activations", expected.bits, p.bits)),
        None => Err("follows the logit layer".into()),
    }
}
