//! QONNX / FINN-ONNX graph to golden model.
//!
//! The graph is walked in its (topological) node order. Nodes whose inputs are all constant are
//! evaluated (constant folding: weight quantizers, shape arithmetic); the rest form one chain from the
//! graph input to the logits. Along that chain the importer keeps, for the data tensor, its *source*
//! (the 8-bit pixels, or the integer accumulator of the last `MatMul`/`Gemm`/`Conv`, with the real
//! value `a[c] * acc + b[c]` it stands for) and the element-wise ops applied since ([`Step`]s). When
//! the next linear layer (or the output) needs the data as integers, the chain is folded:
//!
//! - up to its last quantizer, the chain is a monotone function from the source integer to a level;
//!   its multi-thresholds are found by binary search over the reachable integer range (a channel whose
//!   function decreases has its weight row negated, as FINN does), so the golden model's level equals
//!   the graph's for every reachable accumulator;
//! - the real value of each level (after the ops behind the quantizer) must be affine in the level,
//!   `s * q + o`; the next layer's weights stay integers and `s`, `o` go into its `a`, `b`;
//! - at the output, the chain must be affine with one positive scale `S` for all classes and biases
//!   that are integer multiples of `S`: the logits are `S * (acc + bias)`.
//!
//! Anything else is an [`ImportError::Node`] naming the node, its op type and why.

use crate::pb;
use crate::steps::{self, Kind, Rounding, Step, eval_chain};
use crate::tensor::{self, QuantInfo, Tensor, binary, broadcast_index, broadcast_shape, reshape_target, transpose_index};
use golden_model::ops::{Conv, Dense, InputQuant, MatVec, MultiThreshold, OutputStage};
use golden_model::{ActType, Layer, Model, ModelError, Op, Provenance, Shape, WeightType};
use ndarray::Array2;
use prost::Message;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {path}: {msg}")]
    Io { path: String, msg: String },
    #[error("not a valid ONNX model: {0}")]
    Decode(String),
    #[error("node `{node}` ({op}): {msg}")]
    Node { node: String, op: String, msg: String },
    #[error("{0}")]
    Graph(String),
    #[error("the imported network is not a valid golden model: {0}")]
    Model(#[from] ModelError),
}

#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Real value of one pixel step: the graph input is `pixel * input_scale`. `None`: 1 (the graph
    /// takes pixels as they are, e.g. a `finn_datatype` UINT8 input).
    pub input_scale: Option<f64>,
    /// Model name [default: the ONNX graph name, or the file stem].
    pub name: Option<String>,
    /// Class names [default: "0", "1", ...].
    pub classes: Option<Vec<String>>,
    /// Recorded in the provenance (the command line that ran the import).
    pub command: Option<String>,
}

/// A threshold whose real-valued boundary is an integer (up to `f64` precision): the float graph is
/// exactly at its rounding boundary there, and the op's own rule decides (`>=` for thresholds and the
/// bipolar quantizer, half to even for `ROUND`), which the integer threshold reproduces; a float32
/// executor can land on either side, so an input whose accumulator is there is worth a look.
#[derive(Clone, Debug, PartialEq)]
pub struct NearTie {
    /// Golden-model layer index.
    pub layer: usize,
    pub channel: usize,
    /// Threshold index (level `index + 1` starts at `threshold`).
    pub index: usize,
    pub threshold: i64,
    /// Where the float function crosses the level, in accumulator (or pixel) units.
    pub boundary: f64,
}

#[derive(Clone, Debug)]
pub struct Imported {
    pub model: Model,
    /// Graph logits = `output_scale * golden logits` (within float rounding).
    pub output_scale: f64,
    pub input_scale: f64,
    pub near_ties: Vec<NearTie>,
    /// For each threshold layer (golden index): where the float graph's level `i + 1` starts,
    /// `[channel][i]`, in accumulator (or pixel) units; NaN where the threshold is out of reach.
    /// The integer threshold is the smallest integer at or above it.
    pub boundaries: Vec<(usize, Array2<f64>)>,
    /// Golden layer -> ONNX nodes it was made of.
    pub layer_nodes: Vec<(String, Vec<String>)>,
}

/// Parses an ONNX file and imports it; external tensor data is read from beside it.
pub fn import_file(path: &Path, opts: &Options) -> Result<Imported, ImportError> {
    let bytes = std::fs::read(path).map_err(|e| ImportError::Io { path: path.display().to_string(), msg: e.to_string() })?;
    let mut opts = opts.clone();
    if opts.name.is_none() {
        // `model.onnx` in a folder of test vectors (FINN's habit): the folder names the model.
        let stem = path.file_stem().map(|s| s.to_string_lossy().to_string());
        let parent = path.parent().and_then(|p| p.file_name()).map(|s| s.to_string_lossy().to_string());
        opts.name = match (stem.as_deref(), parent) {
            (Some("model"), Some(dir)) => Some(dir),
            _ => stem,
        };
    }
    let file = path.file_name().map(|s| s.to_string_lossy().to_string()).unwrap_or_default();
    import_bytes(&bytes, &file, path.parent(), &opts)
}

/// Imports an ONNX model from its bytes; `source` names it in the provenance.
pub fn import_bytes(bytes: &[u8], source: &str, dir: Option<&Path>, opts: &Options) -> Result<Imported, ImportError> {
    let model = pb::ModelProto::decode(bytes).map_err(|e| ImportError::Decode(format!("{source}: {e}")))?;
    let graph = model.graph.as_ref().ok_or_else(|| ImportError::Decode(format!("{source}: the model has no graph")))?;
    let mut imp = Importer::new(graph, dir, opts)?;
    imp.run(graph)?;
    let hash = hex::encode(Sha256::digest(bytes));
    imp.finish(graph, source, &hash, &model, opts)
}

/// The element-wise chain's source.
#[derive(Clone, Debug)]
enum Source {
    /// `x = scale * pixel`, pixel in 0..=255.
    Pixels { scale: f64 },
    /// `x = a[c] * acc + b[c]` of the pending linear layer.
    Acc { a: Vec<f64>, b: Vec<f64>, layer: Pending },
}

#[derive(Clone, Debug)]
struct Pending {
    kind: PendingKind,
    in_type: ActType,
    wtype: WeightType,
    weights: Array2<i8>,
    max_acc: i64,
    nodes: Vec<String>,
}

#[derive(Clone, Copy, Debug)]
enum PendingKind {
    Dense,
    Conv { kernel: usize, in_channels: usize },
}

/// The data tensor on the chain.
#[derive(Clone, Debug)]
struct Dyn {
    /// ONNX shape (batch dimension included).
    shape: Vec<usize>,
    /// ONNX flat index -> golden flat index (HWC of `gshape`).
    perm: Vec<usize>,
    /// Golden feature-map shape of the data.
    gshape: Shape,
    src: Source,
    steps: Vec<Step>,
}

/// The input of a linear layer after folding: integer activations `q` of type `ty`, real value
/// `s[c] * q + o[c]` per golden channel.
struct Repr {
    ty: ActType,
    s: Vec<f64>,
    o: Vec<f64>,
}

struct Importer<'a> {
    dir: Option<&'a Path>,
    consts: HashMap<String, Tensor>,
    dyns: HashMap<String, Dyn>,
    /// Label tensor -> logits tensor (ArgMax / TopK).
    labels: HashMap<String, String>,
    annotations: HashMap<String, String>,
    uses: HashMap<String, usize>,
    layers: Vec<Layer>,
    layer_nodes: Vec<(String, Vec<String>)>,
    near_ties: Vec<NearTie>,
    boundaries: Vec<(usize, Array2<f64>)>,
    input_gshape: Shape,
    input_scale: f64,
    output_scale: Option<f64>,
    counts: HashMap<&'static str, usize>,
}

struct NodeRef<'n> {
    n: &'n pb::NodeProto,
    name: String,
}

impl NodeRef<'_> {
    fn op(&self) -> &str {
        self.n.op_type()
    }
    fn err(&self, msg: impl Into<String>) -> ImportError {
        ImportError::Node { node: self.name.clone(), op: self.op().to_string(), msg: msg.into() }
    }
    fn attr(&self, name: &str) -> Option<&pb::AttributeProto> {
        self.n.attribute.iter().find(|a| a.name() == name)
    }
    fn attr_i(&self, name: &str, default: i64) -> i64 {
        self.attr(name).map_or(default, |a| a.i())
    }
    fn attr_f(&self, name: &str, default: f64) -> f64 {
        self.attr(name).map_or(default, |a| a.f() as f64)
    }
    fn attr_s(&self, name: &str) -> Option<String> {
        self.attr(name).map(|a| String::from_utf8_lossy(a.s()).to_string())
    }
    fn attr_ints(&self, name: &str) -> Option<Vec<i64>> {
        self.attr(name).map(|a| a.ints.clone())
    }
    fn step(&self, kind: Kind) -> Step {
        Step { node: self.name.clone(), op: self.op().to_string(), kind }
    }
}

const SUPPORTED: &str = "MatMul, Gemm, Conv (k x k, stride 1, no padding), MaxPool (2x2, stride 2), BatchNormalization, \
    Mul/Div/Add/Sub by constants, Relu, Clip, Sign, Quant/IntQuant, BipolarQuant, MultiThreshold, Trunc, Reshape, Flatten, \
    Transpose, Squeeze, Unsqueeze, Identity, Dropout, ArgMax, TopK (k = 1)";

impl<'a> Importer<'a> {
    fn new(graph: &pb::GraphProto, dir: Option<&'a Path>, opts: &Options) -> Result<Self, ImportError> {
        let mut consts = HashMap::new();
        for t in &graph.initializer {
            let v = Tensor::from_proto(t, dir).map_err(|e| ImportError::Graph(format!("initializer `{}`: {e}", t.name())))?;
            consts.insert(t.name().to_string(), v);
        }
        let mut annotations = HashMap::new();
        for a in &graph.quantization_annotation {
            for p in &a.quant_parameter_tensor_names {
                if p.key() == "finn_datatype" {
                    annotations.insert(a.tensor_name().to_string(), p.value().to_string());
                }
            }
        }
        let mut uses: HashMap<String, usize> = HashMap::new();
        for n in &graph.node {
            if n.op_type() == "Shape" {
                continue;
            }
            for i in &n.input {
                *uses.entry(i.clone()).or_default() += 1;
            }
        }
        let inputs: Vec<&pb::ValueInfoProto> = graph.input.iter().filter(|i| !consts.contains_key(i.name())).collect();
        let [input] = inputs.as_slice() else {
            return Err(ImportError::Graph(format!(
                "the graph has {} data inputs ({}); exactly one (the image) is supported",
                inputs.len(),
                inputs.iter().map(|i| format!("`{}`", i.name())).collect::<Vec<_>>().join(", ")
            )));
        };
        let dims = input_dims(input)?;
        let (shape, gshape) = match dims.as_slice() {
            [c, h, w] => (vec![1, *c, *h, *w], Shape::new(*h, *w, *c)),
            [h, w] => (vec![1, *h, *w], Shape::new(*h, *w, 1)),
            [k] => (vec![1, *k], Shape::new(1, 1, *k)),
            _ => {
                return Err(ImportError::Graph(format!(
                    "input `{}` has shape {dims:?} after the batch dimension; NCHW, NHW or NC is supported",
                    input.name()
                )));
            }
        };
        let annotation = annotations.get(input.name()).cloned();
        let input_scale = match (opts.input_scale, annotation.as_deref()) {
            (Some(s), _) => s,
            (None, None | Some("UINT8") | Some("FLOAT32")) => 1.0,
            (None, Some(dt)) => {
                return Err(ImportError::Graph(format!(
                    "input `{}` is annotated {dt}; pixels are 8-bit unsigned: give --input-scale to say what one pixel step is worth",
                    input.name()
                )));
            }
        };
        if !(input_scale.is_finite() && input_scale > 0.0) {
            return Err(ImportError::Graph(format!("input scale {input_scale} must be positive and finite")));
        }
        // ONNX NCHW flat index -> golden HWC flat index.
        let perm = if dims.len() == 3 {
            let (c, h, w) = (dims[0], dims[1], dims[2]);
            let mut p = vec![0; c * h * w];
            for ci in 0..c {
                for y in 0..h {
                    for x in 0..w {
                        p[(ci * h + y) * w + x] = (y * w + x) * c + ci;
                    }
                }
            }
            p
        } else {
            (0..gshape.len()).collect()
        };
        let mut dyns = HashMap::new();
        dyns.insert(
            input.name().to_string(),
            Dyn { shape, perm, gshape, src: Source::Pixels { scale: input_scale }, steps: vec![] },
        );
        Ok(Importer {
            dir,
            consts,
            dyns,
            labels: HashMap::new(),
            annotations,
            uses,
            layers: vec![],
            layer_nodes: vec![],
            near_ties: vec![],
            boundaries: vec![],
            input_gshape: gshape,
            input_scale,
            output_scale: None,
            counts: HashMap::new(),
        })
    }

    fn run(&mut self, graph: &pb::GraphProto) -> Result<(), ImportError> {
        for (i, n) in graph.node.iter().enumerate() {
            let name = if n.name().is_empty() {
                format!("#{i} -> {}", n.output.first().map(String::as_str).unwrap_or("?"))
            } else {
                n.name().to_string()
            };
            let node = NodeRef { n, name };
            let dyn_inputs: Vec<usize> =
                n.input.iter().enumerate().filter(|(_, x)| self.dyns.contains_key(x.as_str())).map(|(j, _)| j).collect();
            for x in &n.input {
                if !x.is_empty() && !self.consts.contains_key(x) && !self.dyns.contains_key(x) && !self.labels.contains_key(x) {
                    return Err(node.err(format!("input `{x}` is neither an initializer nor computed by an earlier node")));
                }
            }
            if let Some(x) = n.input.iter().find(|x| self.labels.contains_key(x.as_str())) {
                return Err(node.err(format!("uses the label `{x}` (output of ArgMax/TopK); the label must be the graph output")));
            }
            if dyn_inputs.is_empty() {
                let outs = self.fold_const(&node)?;
                for (name, t) in n.output.iter().zip(outs) {
                    self.consts.insert(name.clone(), t);
                }
                continue;
            }
            if node.op() == "Shape" {
                let d = &self.dyns[&n.input[0]];
                let r = d.shape.len() as i64;
                let norm = |v: i64| (if v < 0 { v + r } else { v }).clamp(0, r) as usize;
                let (s, e) = (norm(node.attr_i("start", 0)), norm(node.attr_i("end", r)));
                let v: Vec<f64> = d.shape[s..e.max(s)].iter().map(|&x| x as f64).collect();
                self.consts.insert(n.output[0].clone(), Tensor::vec1(v));
                continue;
            }
            if dyn_inputs.len() > 1 {
                return Err(node.err("joins two data tensors (only a chain of layers is supported, no residual adds or concatenations)"));
            }
            let di = dyn_inputs[0];
            let x = &n.input[di];
            if self.uses.get(x).copied().unwrap_or(0) > 1 {
                return Err(node.err(format!("the data tensor `{x}` feeds several nodes: the graph branches, only a chain is supported")));
            }
            let d = self.dyns[x].clone();
            self.dyn_node(&node, di, d)?;
        }
        Ok(())
    }

    fn cst(&self, node: &NodeRef, j: usize) -> Result<&Tensor, ImportError> {
        let name = node.n.input.get(j).filter(|s| !s.is_empty()).ok_or_else(|| node.err(format!("input {j} is missing")))?;
        self.consts.get(name).ok_or_else(|| node.err(format!("input {j} (`{name}`) must be a constant")))
    }
    fn opt_cst(&self, node: &NodeRef, j: usize) -> Result<Option<&Tensor>, ImportError> {
        match node.n.input.get(j) {
            Some(s) if !s.is_empty() => self.cst(node, j).map(Some),
            _ => Ok(None),
        }
    }

    fn put(&mut self, node: &NodeRef, d: Dyn) -> Result<(), ImportError> {
        let out = node.n.output.first().ok_or_else(|| node.err("has no output"))?;
        self.dyns.insert(out.clone(), d);
        Ok(())
    }

    /// A constant operand as one value per golden channel of `d`.
    fn per_channel(&self, node: &NodeRef, d: &Dyn, t: &Tensor) -> Result<Vec<f64>, ImportError> {
        let shape = broadcast_shape(&d.shape, &t.shape).map_err(|e| node.err(e))?;
        if shape != d.shape {
            return Err(node.err(format!("constant of shape {:?} would broadcast the data of shape {:?} to {shape:?}", t.shape, d.shape)));
        }
        let idx = broadcast_index(&t.shape, &d.shape).map_err(|e| node.err(e))?;
        if t.data.iter().any(|v| !v.is_finite()) {
            return Err(node.err("a constant operand holds a value that is not finite"));
        }
        let ch = d.gshape.channels;
        let mut out: Vec<Option<f64>> = vec![None; ch];
        for (j, &ti) in idx.iter().enumerate() {
            let c = d.perm[j] % ch;
            let v = t.data[ti];
            match out[c] {
                None => out[c] = Some(v),
                Some(u) if u == v || (u.is_nan() && v.is_nan()) => {}
                Some(_) => {
                    return Err(node.err(format!(
                        "constant of shape {:?} varies within channel {c} of the data (shape {:?}); only per-tensor or per-channel constants fold into thresholds",
                        t.shape, d.shape
                    )));
                }
            }
        }
        Ok(out.into_iter().map(|v| v.expect("every channel has an element")).collect())
    }

    fn dyn_node(&mut self, node: &NodeRef, di: usize, mut d: Dyn) -> Result<(), ImportError> {
        let op = node.op();
        let n = node.n;
        match op {
            "Identity" | "Dropout" => self.put(node, d),
            "Cast" => {
                let to = node.attr_i("to", 1);
                if to != pb::tensor_proto::DataType::Float as i32 as i64 && to != pb::tensor_proto::DataType::Double as i32 as i64 {
                    return Err(node.err(format!("cast of the data to {} (only float casts are transparent)", tensor::dtype_name(to as i32))));
                }
                self.put(node, d)
            }
            "Reshape" => {
                let spec = self.cst(node, 1)?.as_ints().ok_or_else(|| node.err("shape is not integers"))?;
                d.shape = reshape_target(&d.shape, &spec, node.attr_i("allowzero", 0) != 0).map_err(|e| node.err(e))?;
                self.put(node, d)
            }
            "Flatten" => {
                let r = d.shape.len() as i64;
                let mut axis = node.attr_i("axis", 1);
                if axis < 0 {
                    axis += r;
                }
                if !(0..=r).contains(&axis) {
                    return Err(node.err(format!("axis {axis} out of range for rank {r}")));
                }
                let a = axis as usize;
                d.shape = vec![d.shape[..a].iter().product(), d.shape[a..].iter().product()];
                self.put(node, d)
            }
            "Squeeze" | "Unsqueeze" => {
                let axes = match self.opt_cst(node, 1)? {
                    Some(t) => t.as_ints().ok_or_else(|| node.err("axes are not integers"))?,
                    None => node.attr_ints("axes").unwrap_or_default(),
                };
                d.shape = if op == "Squeeze" { squeeze(&d.shape, &axes) } else { unsqueeze(&d.shape, &axes) }.map_err(|e| node.err(e))?;
                self.put(node, d)
            }
            "Transpose" => {
                let r = d.shape.len();
                let perm: Vec<usize> = match node.attr_ints("perm") {
                    Some(p) => p.iter().map(|&v| v as usize).collect(),
                    None => (0..r).rev().collect(),
                };
                let (shape, src) = transpose_index(&d.shape, &perm).map_err(|e| node.err(e))?;
                d.perm = src.iter().map(|&s| d.perm[s]).collect();
                d.shape = shape;
                self.put(node, d)
            }
            "Mul" | "Div" | "Add" | "Sub" => {
                let other = self.cst(node, 1 - di)?.clone();
                let v = self.per_channel(node, &d, &other)?;
                let kind = match (op, di) {
                    ("Mul", _) => Kind::Mul(v),
                    ("Add", _) => Kind::Add(v),
                    ("Div", 0) => Kind::Div(v),
                    ("Sub", 0) => Kind::Sub(v),
                    ("Sub", _) => Kind::RSub(v),
                    _ => return Err(node.err("a constant divided by the data is not monotone")),
                };
                if v_nonfinite(&kind) {
                    return Err(node.err("constant is not finite"));
                }
                d.steps.push(node.step(kind));
                self.put(node, d)
            }
            "Neg" => {
                d.steps.push(node.step(Kind::Neg));
                self.put(node, d)
            }
            "Relu" => {
                d.steps.push(node.step(Kind::Relu));
                self.put(node, d)
            }
            "Sign" => {
                d.steps.push(node.step(Kind::Sign));
                self.put(node, d)
            }
            "Clip" => {
                let lo = match self.opt_cst(node, 1)? {
                    Some(t) => t.as_scalar().ok_or_else(|| node.err("min is not a scalar"))?,
                    None => node.attr_f("min", f64::NEG_INFINITY),
                };
                let hi = match self.opt_cst(node, 2)? {
                    Some(t) => t.as_scalar().ok_or_else(|| node.err("max is not a scalar"))?,
                    None => node.attr_f("max", f64::INFINITY),
                };
                d.steps.push(node.step(Kind::Clip { lo, hi }));
                self.put(node, d)
            }
            "BatchNormalization" => {
                if node.attr_i("training_mode", 0) != 0 {
                    return Err(node.err("training_mode batch norm (only inference statistics fold)"));
                }
                if d.shape.len() < 2 {
                    return Err(node.err(format!("data of rank {} has no channel axis", d.shape.len())));
                }
                let ch = d.shape[1];
                let mut p = vec![];
                for j in 1..=4 {
                    let t = self.cst(node, j)?;
                    if t.len() != ch {
                        return Err(node.err(format!("parameter {j} has {} values for {ch} channels", t.len())));
                    }
                    let mut shape = vec![ch];
                    shape.extend(std::iter::repeat_n(1, d.shape.len() - 2));
                    p.push(self.per_channel(node, &d, &t.clone().with_shape(shape))?);
                }
                let eps = node.attr_f("epsilon", 1e-5);
                if p[3].iter().any(|&v| !(v + eps > 0.0)) {
                    return Err(node.err("variance + epsilon is not positive"));
                }
                let [scale, bias, mean, var] = <[Vec<f64>; 4]>::try_from(p).expect("four parameters");
                d.steps.push(node.step(Kind::BatchNorm { scale, bias, mean, var, eps }));
                self.put(node, d)
            }
            "Quant" | "IntQuant" => {
                if di != 0 {
                    return Err(node.err("the data must be input 0"));
                }
                let scale = self.per_channel(node, &d, self.cst(node, 1)?)?;
                let zp = self.per_channel(node, &d, self.cst(node, 2)?)?;
                let bits = self.per_channel(node, &d, self.cst(node, 3)?)?;
                if let Some(b) = bits.iter().find(|&&b| !((1.0..=8.0).contains(&b) && b.fract() == 0.0)) {
                    return Err(node.err(format!("{b}-bit activations (the hardware takes at most 8)")));
                }
                if scale.iter().any(|&s| !(s.is_finite() && s != 0.0)) {
                    return Err(node.err("scale is zero or not finite"));
                }
                let rounding = Rounding::parse(&node.attr_s("rounding_mode").unwrap_or_else(|| "ROUND".into())).map_err(|e| node.err(e))?;
                let kind = Kind::Quant { scale, zp, bits, signed: node.attr_i("signed", 1) != 0, narrow: node.attr_i("narrow", 0) != 0, rounding };
                d.steps.push(node.step(kind));
                self.put(node, d)
            }
            "BipolarQuant" => {
                let scale = self.per_channel(node, &d, self.cst(node, 1)?)?;
                d.steps.push(node.step(Kind::Bipolar { scale }));
                self.put(node, d)
            }
            "MultiThreshold" => {
                let t = self.cst(node, 1)?.clone();
                let thresholds = self.threshold_rows(node, &d, &t)?;
                let out_scale = node.attr_f("out_scale", 1.0);
                let out_bias = node.attr_f("out_bias", 0.0);
                d.steps.push(node.step(Kind::Thresholds { t: thresholds, out_scale, out_bias }));
                self.put(node, d)
            }
            "Trunc" => {
                if n.input.len() != 6 {
                    return Err(node.err(format!("{} inputs: only Trunc v2 (x, scale, zeropt, input_bit_width, output_scale, output_bit_width) is supported", n.input.len())));
                }
                let scale = self.per_channel(node, &d, self.cst(node, 1)?)?;
                let zp = self.per_channel(node, &d, self.cst(node, 2)?)?;
                let out_scale = self.per_channel(node, &d, self.cst(node, 4)?)?;
                let out_bits = self.per_channel(node, &d, self.cst(node, 5)?)?;
                let rounding = Rounding::parse(&node.attr_s("rounding_mode").unwrap_or_else(|| "FLOOR".into())).map_err(|e| node.err(e))?;
                let kind = Kind::Trunc {
                    scale,
                    zp,
                    out_scale,
                    out_bits,
                    signed: node.attr_i("signed", 1) != 0,
                    narrow: node.attr_i("narrow", 0) != 0,
                    rounding,
                };
                d.steps.push(node.step(kind));
                self.put(node, d)
            }
            "MaxPool" => {
                let k = node.attr_ints("kernel_shape").unwrap_or_default();
                let s = node.attr_ints("strides").unwrap_or_else(|| vec![1, 1]);
                let pads = node.attr_ints("pads").unwrap_or_else(|| vec![0; 4]);
                let dil = node.attr_ints("dilations").unwrap_or_else(|| vec![1, 1]);
                if k != [2, 2] || s != [2, 2] || pads.iter().any(|&p| p != 0) || dil.iter().any(|&v| v != 1) || node.attr_i("ceil_mode", 0) != 0 {
                    return Err(node.err(format!(
                        "kernel {k:?}, strides {s:?}, pads {pads:?}, dilations {dil:?}: only 2x2 max-pool with stride 2, no padding, floor is supported"
                    )));
                }
                if !matches!(node.attr_s("auto_pad").as_deref(), None | Some("NOTSET") | Some("VALID")) {
                    return Err(node.err("auto_pad other than VALID"));
                }
                if n.output.len() > 1 && !n.output[1].is_empty() {
                    return Err(node.err("the Indices output is used"));
                }
                self.check_nchw(node, &d)?;
                let (h, w, c) = d.gshape.dim();
                if h < 2 || w < 2 {
                    return Err(node.err(format!("input {} is smaller than 2x2", d.gshape)));
                }
                d.steps.push(node.step(Kind::Pool));
                d.gshape = Shape::new(h / 2, w / 2, c);
                d.shape = vec![1, c, h / 2, w / 2];
                d.perm = nchw_perm(d.gshape);
                self.put(node, d)
            }
            "MatMul" | "Gemm" => {
                if di != 0 {
                    return Err(node.err("the data must be the left operand (input 0)"));
                }
                if op == "Gemm" && node.attr_i("transA", 0) != 0 {
                    return Err(node.err("transA = 1 on the data"));
                }
                let k = d.gshape.len();
                if d.shape.iter().product::<usize>() != k || d.shape.last() != Some(&k) {
                    return Err(node.err(format!("data of shape {:?}: flatten it to (1, {k}) first", d.shape)));
                }
                let w = self.cst(node, 1)?.clone();
                if w.shape.len() != 2 {
                    return Err(node.err(format!("weight of shape {:?} is not a matrix", w.shape)));
                }
                let trans = op == "Gemm" && node.attr_i("transB", 0) != 0;
                // w_kn[j][o]: weight of input j for output o
                let (kk, nout) = if trans { (w.shape[1], w.shape[0]) } else { (w.shape[0], w.shape[1]) };
                if kk != k {
                    return Err(node.err(format!("weight of shape {:?} for {k} inputs", w.shape)));
                }
                let widx = |o: usize, j: usize| if trans { o * kk + j } else { j * nout + o };
                let wname = n.input[1].clone();
                let (codes, wscale, wtype) = self.weight_codes(node, &w, &wname)?;
                let repr = self.fold(node, &d)?;
                let s_in = per_tensor(node, &repr.s)?;
                let ch = d.gshape.channels;
                let mut weights = Array2::<i8>::zeros((nout, k));
                let (mut a, mut b) = (vec![0.0; nout], vec![0.0; nout]);
                for o in 0..nout {
                    let ws = wscale[widx(o, 0)];
                    let mut off = 0.0;
                    for j in 0..k {
                        let wi = widx(o, j);
                        if wscale[wi] != ws {
                            return Err(node.err(format!("the weight scale of output {o} varies over its inputs (only per-output-channel or per-tensor scales fold)")));
                        }
                        let g = d.perm[j];
                        weights[[o, g]] = codes[wi] as i8;
                        off += codes[wi] * repr.o[g % ch];
                    }
                    a[o] = ws * s_in;
                    b[o] = ws * off;
                }
                let max_acc = k as i64 * wtype.max_abs() * repr.ty.max_abs();
                check_acc(node, max_acc)?;
                let layer = Pending { kind: PendingKind::Dense, in_type: repr.ty, wtype, weights, max_acc, nodes: vec![node.name.clone()] };
                let mut nd = Dyn {
                    shape: vec![1, nout],
                    perm: (0..nout).collect(),
                    gshape: Shape::new(1, 1, nout),
                    src: Source::Acc { a, b, layer },
                    steps: vec![],
                };
                if op == "Gemm" {
                    let alpha = node.attr_f("alpha", 1.0);
                    if alpha != 1.0 {
                        nd.steps.push(node.step(Kind::Mul(vec![alpha])));
                    }
                    if let Some(c) = self.opt_cst(node, 2)?.cloned() {
                        let beta = node.attr_f("beta", 1.0);
                        let v = self.per_channel(node, &nd, &c)?;
                        nd.steps.push(node.step(Kind::Add(v.into_iter().map(|x| x * beta).collect())));
                    }
                }
                self.put(node, nd)
            }
            "Conv" => {
                if di != 0 {
                    return Err(node.err("the data must be input 0"));
                }
                self.check_nchw(node, &d)?;
                let w = self.cst(node, 1)?.clone();
                let (h, wd, cin) = d.gshape.dim();
                let [oc, ic, kh, kw] = w.shape[..] else {
                    return Err(node.err(format!("weight of shape {:?}: only 2-D convolutions are supported", w.shape)));
                };
                let strides = node.attr_ints("strides").unwrap_or_else(|| vec![1, 1]);
                let pads = node.attr_ints("pads").unwrap_or_else(|| vec![0; 4]);
                let dil = node.attr_ints("dilations").unwrap_or_else(|| vec![1, 1]);
                let group = node.attr_i("group", 1);
                if kh != kw || strides.iter().any(|&v| v != 1) || pads.iter().any(|&v| v != 0) || dil.iter().any(|&v| v != 1) || group != 1 {
                    return Err(node.err(format!(
                        "kernel {kh}x{kw}, strides {strides:?}, pads {pads:?}, dilations {dil:?}, group {group}: only square kernels with stride 1, no padding, group 1 are supported"
                    )));
                }
                if !matches!(node.attr_s("auto_pad").as_deref(), None | Some("NOTSET") | Some("VALID")) {
                    return Err(node.err("auto_pad other than VALID (padding is not supported)"));
                }
                if ic != cin {
                    return Err(node.err(format!("weight for {ic} input channels, the data has {cin}")));
                }
                if h < kh || wd < kw {
                    return Err(node.err(format!("input {} is smaller than the {kh}x{kw} kernel", d.gshape)));
                }
                let wname = n.input[1].clone();
                let (codes, wscale, wtype) = self.weight_codes(node, &w, &wname)?;
                let repr = self.fold(node, &d)?;
                let s_in = per_tensor(node, &repr.s)?;
                let cols = kh * kw * ic;
                let mut weights = Array2::<i8>::zeros((oc, cols));
                let (mut a, mut b) = (vec![0.0; oc], vec![0.0; oc]);
                for o in 0..oc {
                    let ws = wscale[o * cols];
                    let mut off = 0.0;
                    for c in 0..ic {
                        for y in 0..kh {
                            for x in 0..kw {
                                let wi = ((o * ic + c) * kh + y) * kw + x;
                                if wscale[wi] != ws {
                                    return Err(node.err(format!("the weight scale of output channel {o} varies within its kernel (only per-output-channel or per-tensor scales fold)")));
                                }
                                weights[[o, (y * kw + x) * ic + c]] = codes[wi] as i8;
                                off += codes[wi] * repr.o[c];
                            }
                        }
                    }
                    a[o] = ws * s_in;
                    b[o] = ws * off;
                }
                let max_acc = cols as i64 * wtype.max_abs() * repr.ty.max_abs();
                check_acc(node, max_acc)?;
                let layer = Pending {
                    kind: PendingKind::Conv { kernel: kh, in_channels: ic },
                    in_type: repr.ty,
                    wtype,
                    weights,
                    max_acc,
                    nodes: vec![node.name.clone()],
                };
                let gshape = Shape::new(h - kh + 1, wd - kw + 1, oc);
                let mut nd = Dyn {
                    shape: vec![1, oc, gshape.height, gshape.width],
                    perm: nchw_perm(gshape),
                    gshape,
                    src: Source::Acc { a, b, layer },
                    steps: vec![],
                };
                if let Some(bias) = self.opt_cst(node, 2)?.cloned() {
                    if bias.len() != oc {
                        return Err(node.err(format!("{} biases for {oc} output channels", bias.len())));
                    }
                    let v = self.per_channel(node, &nd, &bias.with_shape(vec![oc, 1, 1]))?;
                    nd.steps.push(node.step(Kind::Add(v)));
                }
                self.put(node, nd)
            }
            "ArgMax" | "TopK" => {
                let r = d.shape.len() as i64;
                let nclass = d.gshape.len();
                let mut axis = node.attr_i("axis", if op == "TopK" { -1 } else { 0 });
                if axis < 0 {
                    axis += r;
                }
                if axis < 0 || axis >= r || d.shape[axis as usize] != nclass {
                    return Err(node.err(format!("axis {} of data {:?}: the label must be taken over the class axis", node.attr_i("axis", 0), d.shape)));
                }
                if op == "ArgMax" && node.attr_i("select_last_index", 0) != 0 {
                    return Err(node.err("select_last_index = 1 (the hardware resolves ties to the lowest index)"));
                }
                if op == "TopK" {
                    let k = self.cst(node, 1)?.as_scalar();
                    if k != Some(1.0) {
                        return Err(node.err(format!("k = {k:?}: only k = 1 (the label) is supported")));
                    }
                    if node.attr_i("largest", 1) != 1 {
                        return Err(node.err("largest = 0 (the label is the largest logit)"));
                    }
                    if n.output.len() > 1 && !n.output[1].is_empty() {
                        self.labels.insert(n.output[1].clone(), n.input[0].clone());
                    }
                } else {
                    self.labels.insert(n.output[0].clone(), n.input[0].clone());
                }
                // The logits stay available for the output.
                self.dyns.insert(n.input[0].clone(), d);
                Ok(())
            }
            _ => Err(node.err(format!(
                "op type (domain `{}`) is not supported on the data path (supported: {SUPPORTED})",
                node.n.domain()
            ))),
        }
    }

    fn check_nchw(&self, node: &NodeRef, d: &Dyn) -> Result<(), ImportError> {
        let (h, w, c) = d.gshape.dim();
        if d.shape != [1, c, h, w] || d.perm != nchw_perm(d.gshape) {
            return Err(node.err(format!(
                "data of shape {:?} is not the NCHW feature map (1, {c}, {h}, {w}) of the previous layer (a layout change the importer cannot map)",
                d.shape
            )));
        }
        Ok(())
    }

    fn threshold_rows(&self, node: &NodeRef, d: &Dyn, t: &Tensor) -> Result<Vec<Vec<f64>>, ImportError> {
        let [rows, nt] = t.shape[..] else {
            return Err(node.err(format!("thresholds of shape {:?}, expected (channels, steps)", t.shape)));
        };
        let r = d.shape.len();
        let layout = node.attr_s("data_layout").unwrap_or_default();
        let cdim = if !layout.is_empty() {
            layout.find('C').unwrap_or(1)
        } else {
            match r {
                3 => 2,
                _ => 1,
            }
        };
        if cdim >= r {
            return Err(node.err(format!("channel axis {cdim} (layout `{layout}`) of data of rank {r}")));
        }
        let nch = d.shape[cdim];
        if rows != 1 && rows != nch {
            return Err(node.err(format!("{rows} threshold rows for {nch} channels")));
        }
        let st = tensor::strides(&d.shape);
        let gch = d.gshape.channels;
        let mut out: Vec<Option<usize>> = vec![None; gch];
        for j in 0..d.perm.len() {
            let row = if rows == 1 { 0 } else { (j / st[cdim]) % nch };
            let c = d.perm[j] % gch;
            match out[c] {
                None => out[c] = Some(row),
                Some(prev) if t.data[prev * nt..(prev + 1) * nt] == t.data[row * nt..(row + 1) * nt] => {}
                Some(_) => return Err(node.err(format!("thresholds vary within channel {c} of the data"))),
            }
        }
        Ok(out.into_iter().map(|r| t.data[r.unwrap() * nt..(r.unwrap() + 1) * nt].to_vec()).collect())
    }

    /// Integer codes, per-element scale and golden weight type of a weight constant.
    fn weight_codes(&self, node: &NodeRef, w: &Tensor, name: &str) -> Result<(Vec<f64>, Vec<f64>, WeightType), ImportError> {
        if let Some(q) = &w.quant {
            if !q.zero_zp {
                return Err(node.err("weight quantizer has a non-zero zero point"));
            }
            let wt = if q.bipolar {
                WeightType { bits: 1 }
            } else {
                weight_type_for(q.min, q.max).ok_or_else(|| node.err(format!("weights of range {}..={} need more than 8 bits", q.min, q.max)))?
            };
            return Ok((q.codes.clone(), q.scale.clone(), wt));
        }
        let ints = w.as_ints().ok_or_else(|| {
            node.err("weights are floats without a quantizer (put a Quant/BipolarQuant on the weight, or give integer weights)")
        })?;
        let (lo, hi) = (*ints.iter().min().unwrap_or(&0), *ints.iter().max().unwrap_or(&0));
        let annotation = self.annotations.get(name).map(String::as_str);
        let bipolar = match annotation {
            Some("BIPOLAR") => true,
            Some(_) => false,
            None => ints.iter().all(|&v| v == 1 || v == -1),
        };
        // An INTk annotation keeps its width when the hardware has it.
        if let Some(bits) = annotation.and_then(|a| a.strip_prefix("INT")).and_then(|b| b.parse::<u8>().ok())
            && let Some(wt) = WeightType::new(bits).filter(|w| !w.is_bipolar() && lo >= w.min() as i64 && hi <= w.max() as i64) {
                return Ok((w.data.clone(), vec![1.0; w.len()], wt));
            }
        let wt = if bipolar {
            if !ints.iter().all(|&v| v == 1 || v == -1) {
                return Err(node.err("BIPOLAR weights hold values other than -1 and +1"));
            }
            WeightType { bits: 1 }
        } else {
            weight_type_for(lo, hi).ok_or_else(|| node.err(format!("integer weights of range {lo}..={hi} need more than 8 bits")))?
        };
        Ok((w.data.clone(), vec![1.0; w.len()], wt))
    }

    fn next_name(&mut self, prefix: &'static str) -> String {
        let n = self.counts.entry(prefix).or_default();
        *n += 1;
        format!("{prefix}{n}")
    }

    /// Folds the chain of `d` into golden layers; returns the representation of its output for the
    /// next linear layer (`node`).
    fn fold(&mut self, node: &NodeRef, d: &Dyn) -> Result<Repr, ImportError> {
        let ch = d.gshape.channels;
        let qpos = d.steps.iter().rposition(Step::is_quantizer);
        let pools: Vec<usize> = d.steps.iter().enumerate().filter(|(_, s)| matches!(s.kind, Kind::Pool)).map(|(i, _)| i).collect();
        let step_err = |s: &Step, msg: String| ImportError::Node { node: s.node.clone(), op: s.op.clone(), msg };
        let Some(qi) = qpos else {
            // No quantizer since the source.
            return match &d.src {
                Source::Pixels { scale } => {
                    if !self.layers.is_empty() {
                        unreachable!("pixels are the first source");
                    }
                    let (mut s, mut o) = (vec![0.0; ch], vec![0.0; ch]);
                    for c in 0..ch {
                        let f = |p: f64| eval_chain(&d.steps, c, scale * p).0;
                        let (f0, f255) = (f(0.0), f(255.0));
                        s[c] = (f255 - f0) / 255.0;
                        o[c] = f0;
                        if let Some(p) = (0..=255).find(|&p| !close(f(p as f64), f0 + s[c] * p as f64)) {
                            let st = d.steps.iter().find(|s| !s.is_affine() && !matches!(s.kind, Kind::Pool)).unwrap_or(&d.steps[0]);
                            return Err(step_err(st, format!("the input before `{}` is not affine in the pixel value (at pixel {p}) and not quantized", node.name)));
                        }
                        if !pools.is_empty() && s[c] <= 0.0 {
                            return Err(step_err(&d.steps[pools[0]], "max-pool of values that decrease with the pixel".into()));
                        }
                    }
                    self.layers.push(Layer { name: "input".into(), op: Op::InputQuant(InputQuant::identity(ch)) });
                    self.layer_nodes.push(("input".into(), vec![]));
                    for &p in &pools {
                        let name = self.next_name("pool");
                        self.layers.push(Layer { name: name.clone(), op: Op::MaxPool });
                        self.layer_nodes.push((name, vec![d.steps[p].node.clone()]));
                    }
                    Ok(Repr { ty: ActType { bits: 8 }, s, o })
                }
                Source::Acc { .. } => Err(node.err(
                    "its input is not quantized: there is no Quant/BipolarQuant/MultiThreshold between the previous linear layer and this one",
                )),
            };
        };
        let q = &d.steps[qi];
        let pre = &d.steps[..=qi];
        let post = &d.steps[qi + 1..];
        if let Some(s) = post.iter().find(|s| s.is_quantizer()) {
            unreachable!("{} after the last quantizer", s.op);
        }
        let nlev: Vec<usize> = (0..ch).map(|c| q.levels(c).len()).collect();
        let maxlev = *nlev.iter().max().expect("at least one channel");
        let bits: u8 = match maxlev {
            0 | 1 => return Err(step_err(q, "a quantizer with a single level".into())),
            2 => 1,
            3..=4 => 2,
            5..=16 => 4,
            17..=256 => 8,
            n => return Err(step_err(q, format!("{n} levels: more than 8 bits"))),
        };
        let out_type = ActType { bits };
        let nt = out_type.num_thresholds();
        // Real value of each level after the ops behind the quantizer: affine in the level.
        let (mut s, mut o) = (vec![0.0; ch], vec![0.0; ch]);
        for c in 0..ch {
            let vals: Vec<f64> = q.levels(c).iter().map(|&v| eval_chain(post, c, v).0).collect();
            let n = vals.len();
            let sc = (vals[n - 1] - vals[0]) / (n - 1) as f64;
            if let Some(u) = (0..n).find(|&u| !close(vals[u], vals[0] + sc * u as f64)) {
                let st = post.iter().find(|s| !s.is_affine()).unwrap_or(q);
                return Err(step_err(st, format!("after quantizer `{}`, level {u} of channel {c} is not on the quantizer's grid (only affine ops may follow a quantizer)", q.node)));
            }
            // Pools after the quantizer need values that increase with the level.
            for &p in pools.iter().filter(|&&p| p > qi) {
                let v0 = eval_chain(&d.steps[qi + 1..p], c, q.levels(c)[0]).0;
                let v1 = eval_chain(&d.steps[qi + 1..p], c, q.levels(c)[n - 1]).0;
                if v1 < v0 {
                    return Err(step_err(&d.steps[p], "max-pool of values that decrease with the quantized level".into()));
                }
            }
            if bits == 1 {
                s[c] = sc / 2.0;
                o[c] = vals[0] + sc / 2.0;
            } else {
                s[c] = sc;
                o[c] = vals[0];
            }
        }
        let layer_index = self.layers.len();
        let mut bounds = Array2::<f64>::from_elem((ch, nt), f64::NAN);
        match &d.src {
            Source::Pixels { scale } => {
                let mut t = Array2::<i32>::zeros((ch, nt));
                for c in 0..ch {
                    let g = |p: f64| eval_chain(pre, c, scale * p).1.expect("ends in a quantizer");
                    if g(255.0) < g(0.0) {
                        return Err(step_err(q, "the input quantizer's level decreases with the pixel value".into()));
                    }
                    for &p in pools.iter().filter(|&&p| p < qi) {
                        if eval_chain(&d.steps[..p], c, scale * 255.0).0 < eval_chain(&d.steps[..p], c, 0.0).0 {
                            return Err(step_err(&d.steps[p], "max-pool of values that decrease with the pixel".into()));
                        }
                    }
                    for i in 1..=nt {
                        let th = (0..=255).find(|&p| g(p as f64) >= i).unwrap_or(256);
                        t[[c, i - 1]] = th;
                        if (1..=255).contains(&th) {
                            bounds[[c, i - 1]] = self.boundary(layer_index, c, i - 1, th as i64, |x| g(x) >= i);
                        }
                    }
                }
                if !self.layers.is_empty() {
                    unreachable!("pixels are the first source");
                }
                let mt = MultiThreshold::new(out_type, t).map_err(|e| step_err(q, e))?;
                self.layers.push(Layer { name: "input".into(), op: Op::InputQuant(InputQuant::new(mt)) });
                self.layer_nodes.push(("input".into(), pre.iter().map(|s| s.node.clone()).collect()));
            }
            Source::Acc { a, b, layer } => {
                let m = layer.max_acc;
                let mut weights = layer.weights.clone();
                let mut t = Array2::<i32>::zeros((ch, nt));
                for c in 0..ch {
                    let x = |t: f64| a[c] * t + b[c];
                    let lvl = |t: f64| eval_chain(pre, c, x(t)).1.expect("ends in a quantizer");
                    let (lo, hi) = (lvl(-(m as f64)), lvl(m as f64));
                    let negate = if hi != lo {
                        hi < lo
                    } else {
                        eval_chain(&pre[..qi], c, x(m as f64)).0 < eval_chain(&pre[..qi], c, x(-(m as f64))).0
                    };
                    if negate {
                        weights.row_mut(c).mapv_inplace(|w| -w);
                    }
                    let sign = if negate { -1.0 } else { 1.0 };
                    let g = |t: f64| lvl(sign * t);
                    for &p in pools.iter().filter(|&&p| p < qi) {
                        let f = |t: f64| eval_chain(&d.steps[..p], c, x(sign * t)).0;
                        if f(m as f64) < f(-(m as f64)) {
                            return Err(step_err(&d.steps[p], "max-pool of values that decrease with the accumulator while the activation increases".into()));
                        }
                    }
                    for i in 1..=nt {
                        let th = search_threshold(&g, i, m);
                        t[[c, i - 1]] = i32::try_from(th).expect("threshold within the accumulator bound");
                        if th > -m && th <= m {
                            bounds[[c, i - 1]] = self.boundary(layer_index, c, i - 1, th, |x| g(x) >= i);
                        }
                    }
                }
                if weights.iter().any(|&w| !layer.wtype.contains(w as i32)) {
                    // -(-2^(b-1)) does not fit: a negated row of a full-range signed weight.
                    return Err(ImportError::Node {
                        node: layer.nodes[0].clone(),
                        op: "weights".into(),
                        msg: format!("a channel whose activation decreases has its weights negated; {}-bit weights at the most negative value cannot be negated", layer.wtype.bits),
                    });
                }
                let mt = MultiThreshold::new(out_type, t).map_err(|e| step_err(q, e))?;
                let mv = MatVec::new(layer.in_type, layer.wtype, weights, OutputStage::Threshold(mt))
                    .map_err(|e| ImportError::Node { node: layer.nodes[0].clone(), op: "layer".into(), msg: e })?;
                let (name, op) = match layer.kind {
                    PendingKind::Dense => (self.next_name("fc"), Op::Dense(Dense::new(mv))),
                    PendingKind::Conv { kernel, in_channels } => (
                        self.next_name("conv"),
                        Op::Conv(Conv::new(kernel, in_channels, mv).map_err(|e| ImportError::Node { node: layer.nodes[0].clone(), op: "Conv".into(), msg: e })?),
                    ),
                };
                let mut nodes = layer.nodes.clone();
                nodes.extend(pre.iter().map(|s| s.node.clone()));
                self.layers.push(Layer { name: name.clone(), op });
                self.layer_nodes.push((name, dedup(nodes)));
            }
        }
        self.boundaries.push((layer_index, bounds));
        for &p in &pools {
            let name = self.next_name("pool");
            self.layers.push(Layer { name: name.clone(), op: Op::MaxPool });
            self.layer_nodes.push((name, vec![d.steps[p].node.clone()]));
        }
        Ok(Repr { ty: out_type, s, o })
    }

    /// Where the float function crosses level `index + 1` (between `th - 1` and `th`, by bisection),
    /// and a [`NearTie`] when that is an integer up to float precision.
    fn boundary(&mut self, layer: usize, channel: usize, index: usize, th: i64, reached: impl Fn(f64) -> bool) -> f64 {
        // Invariant: not reached at lo, reached at hi.
        let (mut lo, mut hi) = (th as f64 - 1.0, th as f64);
        if reached(lo) || !reached(hi) {
            return f64::NAN;
        }
        for _ in 0..64 {
            let mid = 0.5 * (lo + hi);
            if mid <= lo || mid >= hi {
                break;
            }
            if reached(mid) { hi = mid } else { lo = mid }
        }
        let gap = th as f64 - hi;
        let tol = 1e-9 * (th.abs() as f64).max(1.0);
        if gap < tol || 1.0 - gap < tol {
            self.near_ties.push(NearTie { layer, channel, index, threshold: th, boundary: hi });
        }
        hi
    }

    /// The logit layer from the chain at the graph output.
    fn fold_logits(&mut self, d: &Dyn, out_name: &str) -> Result<(), ImportError> {
        let step_err = |s: &Step, msg: String| ImportError::Node { node: s.node.clone(), op: s.op.clone(), msg };
        let Source::Acc { a, b, layer } = &d.src else {
            return Err(ImportError::Graph(format!("the output `{out_name}` does not come from a MatMul/Gemm layer")));
        };
        if !matches!(layer.kind, PendingKind::Dense) {
            return Err(ImportError::Graph(format!("the output `{out_name}` comes from a Conv; the logits must come from a fully connected layer")));
        }
        if let Some(s) = d.steps.iter().find(|s| !s.is_affine()) {
            return Err(step_err(s, "between the last fully connected layer and the logits (only affine ops, e.g. scales and biases, fold into integer logits)".into()));
        }
        let n = d.gshape.len();
        let mut sc = vec![0.0; n];
        let mut off = vec![0.0; n];
        for c in 0..n {
            let f = |t: f64| eval_chain(&d.steps, c, a[c] * t + b[c]).0;
            off[c] = f(0.0);
            sc[c] = f(1.0) - off[c];
        }
        let s0 = sc[0];
        let last_node = d.steps.last().map(|s| (s.node.clone(), s.op.clone())).unwrap_or((layer.nodes[0].clone(), "MatMul".into()));
        let err = |msg: String| ImportError::Node { node: last_node.0.clone(), op: last_node.1.clone(), msg };
        if !(s0 > 0.0) || sc.iter().any(|&v| (v - s0).abs() > 1e-6 * s0.abs()) {
            return Err(err(format!(
                "the logits' scale differs between classes or is not positive ({:?}): a per-class scale on the logits (e.g. a batch norm) is not supported by the logit layer yet",
                sc.iter().map(|v| format!("{v:.6e}")).collect::<Vec<_>>()
            )));
        }
        let mut bias = vec![0i32; n];
        for c in 0..n {
            let v = off[c] / s0;
            let r = v.round();
            if (v - r).abs() > 1e-3f64.max(1e-6 * v.abs()) || r.abs() > i32::MAX as f64 {
                return Err(err(format!(
                    "the bias of class {c} is {v} times the logit scale, not an integer (quantize the bias to the accumulator's scale, e.g. Brevitas Int32Bias)"
                )));
            }
            bias[c] = r as i32;
        }
        let mv = MatVec::new(layer.in_type, layer.wtype, layer.weights.clone(), OutputStage::Bias(bias))
            .map_err(|e| ImportError::Node { node: layer.nodes[0].clone(), op: "layer".into(), msg: e })?;
        let name = self.next_name("fc");
        let mut nodes = layer.nodes.clone();
        nodes.extend(d.steps.iter().map(|s| s.node.clone()));
        self.layers.push(Layer { name: name.clone(), op: Op::Dense(Dense::new(mv)) });
        self.layer_nodes.push((name, dedup(nodes)));
        self.output_scale = Some(s0);
        Ok(())
    }

    fn finish(mut self, graph: &pb::GraphProto, source: &str, hash: &str, model: &pb::ModelProto, opts: &Options) -> Result<Imported, ImportError> {
        let out = graph.output.iter().find(|o| self.labels.contains_key(o.name())).or(graph.output.first());
        let out = out.ok_or_else(|| ImportError::Graph("the graph has no output".into()))?.name().to_string();
        let logits_name = self.labels.get(&out).cloned().unwrap_or_else(|| out.clone());
        let d = self.dyns.get(&logits_name).cloned().ok_or_else(|| {
            ImportError::Graph(format!("the graph output `{out}` is not computed from the input (a constant, or not produced by any node)"))
        })?;
        self.fold_logits(&d, &out)?;
        let n = d.gshape.len();
        let classes = match &opts.classes {
            Some(c) if c.len() != n => {
                return Err(ImportError::Graph(format!("{} class names given for {n} logits", c.len())));
            }
            Some(c) => c.clone(),
            None => (0..n).map(|i| i.to_string()).collect(),
        };
        let name = opts.name.clone().filter(|s| !s.is_empty()).unwrap_or_else(|| {
            if graph.name().is_empty() { "imported".into() } else { graph.name().to_string() }
        });
        let output_scale = self.output_scale.expect("set by fold_logits");
        let mut provenance = Provenance { arch: Some("qonnx-import".into()), command: opts.command.clone(), ..Default::default() };
        let ex = &mut provenance.extra;
        ex.insert("source".into(), serde_json::json!(source));
        ex.insert("source_sha256".into(), serde_json::json!(hash));
        ex.insert("producer".into(), serde_json::json!(format!("{} {}", model.producer_name(), model.producer_version()).trim()));
        ex.insert("input_scale".into(), serde_json::json!(self.input_scale));
        ex.insert("output_scale".into(), serde_json::json!(output_scale));
        ex.insert("near_tie_thresholds".into(), serde_json::json!(self.near_ties.len()));
        ex.insert(
            "layer_nodes".into(),
            serde_json::json!(self.layer_nodes.iter().map(|(l, n)| serde_json::json!({"layer": l, "nodes": n})).collect::<Vec<_>>()),
        );
        let _ = self.dir;
        let model = Model::new(name, self.input_gshape, classes, self.layers, provenance)?;
        Ok(Imported { model, output_scale, input_scale: self.input_scale, near_ties: self.near_ties, boundaries: self.boundaries, layer_nodes: self.layer_nodes })
    }

    fn fold_const(&self, node: &NodeRef) -> Result<Vec<Tensor>, ImportError> {
        let op = node.op();
        let n = node.n;
        let one = |t: Tensor| Ok(vec![t]);
        match op {
            "Constant" => {
                let a = n.attribute.first().ok_or_else(|| node.err("no value attribute"))?;
                let t = match a.name() {
                    "value" => Tensor::from_proto(a.t.as_ref().ok_or_else(|| node.err("value is not a tensor"))?, self.dir).map_err(|e| node.err(e))?,
                    "value_float" => Tensor::scalar(a.f() as f64),
                    "value_floats" => Tensor::vec1(a.floats.iter().map(|&v| v as f64).collect()),
                    "value_int" => Tensor::scalar(a.i() as f64),
                    "value_ints" => Tensor::vec1(a.ints.iter().map(|&v| v as f64).collect()),
                    other => return Err(node.err(format!("constant attribute `{other}` is not supported"))),
                };
                one(t)
            }
            "Identity" | "Dropout" => one(self.cst(node, 0)?.clone()),
            "Cast" => {
                let t = self.cst(node, 0)?.clone();
                let to = node.attr_i("to", 1) as i32;
                use pb::tensor_proto::DataType as D;
                if to == D::Float as i32 || to == D::Double as i32 || to == D::Float16 as i32 {
                    one(t)
                } else {
                    one(Tensor::new(t.shape.clone(), t.data.iter().map(|v| v.trunc()).collect()))
                }
            }
            "Reshape" => {
                let t = self.cst(node, 0)?.clone();
                let spec = self.cst(node, 1)?.as_ints().ok_or_else(|| node.err("shape is not integers"))?;
                let s = reshape_target(&t.shape, &spec, node.attr_i("allowzero", 0) != 0).map_err(|e| node.err(e))?;
                one(t.with_shape(s))
            }
            "Flatten" => {
                let t = self.cst(node, 0)?.clone();
                let r = t.shape.len() as i64;
                let axis = node.attr_i("axis", 1);
                let a = (if axis < 0 { axis + r } else { axis }).clamp(0, r) as usize;
                let s = vec![t.shape[..a].iter().product(), t.shape[a..].iter().product()];
                one(t.with_shape(s))
            }
            "Squeeze" | "Unsqueeze" => {
                let t = self.cst(node, 0)?.clone();
                let axes = match self.opt_cst(node, 1)? {
                    Some(a) => a.as_ints().ok_or_else(|| node.err("axes are not integers"))?,
                    None => node.attr_ints("axes").unwrap_or_default(),
                };
                let s = if op == "Squeeze" { squeeze(&t.shape, &axes) } else { unsqueeze(&t.shape, &axes) }.map_err(|e| node.err(e))?;
                one(t.with_shape(s))
            }
            "Transpose" => {
                let t = self.cst(node, 0)?;
                let perm: Vec<usize> = match node.attr_ints("perm") {
                    Some(p) => p.iter().map(|&v| v as usize).collect(),
                    None => (0..t.shape.len()).rev().collect(),
                };
                let (shape, src) = transpose_index(&t.shape, &perm).map_err(|e| node.err(e))?;
                one(t.gather_elems(shape, &src))
            }
            "Gather" => {
                let t = self.cst(node, 0)?;
                let idx = self.cst(node, 1)?;
                let r = t.shape.len() as i64;
                let axis = node.attr_i("axis", 0);
                let ax = (if axis < 0 { axis + r } else { axis }) as usize;
                if ax >= t.shape.len() {
                    return Err(node.err(format!("axis {axis} for rank {r}")));
                }
                let ids = idx.as_ints().ok_or_else(|| node.err("indices are not integers"))?;
                let dim = t.shape[ax] as i64;
                let outer: usize = t.shape[..ax].iter().product();
                let inner: usize = t.shape[ax + 1..].iter().product();
                let mut data = vec![];
                for o in 0..outer {
                    for &i in &ids {
                        let i = if i < 0 { i + dim } else { i };
                        if !(0..dim).contains(&i) {
                            return Err(node.err(format!("index {i} out of range {dim}")));
                        }
                        let base = (o * t.shape[ax] + i as usize) * inner;
                        data.extend_from_slice(&t.data[base..base + inner]);
                    }
                }
                let mut shape = t.shape[..ax].to_vec();
                shape.extend(&idx.shape);
                shape.extend(&t.shape[ax + 1..]);
                one(Tensor::new(shape, data))
            }
            "Concat" => {
                let ts: Vec<&Tensor> = (0..n.input.len()).map(|j| self.cst(node, j)).collect::<Result<_, _>>()?;
                if ts.is_empty() {
                    return Err(node.err("no inputs"));
                }
                let r = ts[0].shape.len() as i64;
                let axis = node.attr_i("axis", 0);
                let ax = (if axis < 0 { axis + r } else { axis }) as usize;
                if ts.iter().any(|t| t.shape.len() != r as usize) || ax >= r as usize {
                    return Err(node.err("inputs of different ranks or axis out of range"));
                }
                let outer: usize = ts[0].shape[..ax].iter().product();
                let mut data = vec![];
                let mut shape = ts[0].shape.clone();
                shape[ax] = ts.iter().map(|t| t.shape[ax]).sum();
                for o in 0..outer {
                    for t in &ts {
                        let chunk: usize = t.shape[ax..].iter().product();
                        data.extend_from_slice(&t.data[o * chunk..(o + 1) * chunk]);
                    }
                }
                one(Tensor::new(shape, data))
            }
            "Add" | "Sub" | "Mul" | "Div" | "Pow" => {
                let (x, y) = (self.cst(node, 0)?, self.cst(node, 1)?);
                let f: fn(f64, f64) -> f64 = match op {
                    "Add" => |a, b| a + b,
                    "Sub" => |a, b| a - b,
                    "Mul" => |a, b| a * b,
                    "Div" => |a, b| a / b,
                    _ => f64::powf,
                };
                one(binary(x, y, f).map_err(|e| node.err(e))?)
            }
            "Neg" | "Sqrt" | "Reciprocal" | "Abs" | "Relu" => {
                let x = self.cst(node, 0)?;
                let f: fn(f64) -> f64 = match op {
                    "Neg" => |a| -a,
                    "Sqrt" => f64::sqrt,
                    "Reciprocal" => |a| 1.0 / a,
                    "Abs" => f64::abs,
                    _ => |a| a.max(0.0),
                };
                one(Tensor::new(x.shape.clone(), x.data.iter().map(|&v| f(v)).collect()))
            }
            "ConstantOfShape" => {
                let s = self.cst(node, 0)?.as_ints().ok_or_else(|| node.err("shape is not integers"))?;
                let v = match node.attr("value").and_then(|a| a.t.as_ref()) {
                    Some(t) => Tensor::from_proto(t, self.dir).map_err(|e| node.err(e))?.as_scalar().unwrap_or(0.0),
                    None => 0.0,
                };
                let shape: Vec<usize> = s.iter().map(|&d| d.max(0) as usize).collect();
                let len = shape.iter().product();
                one(Tensor::new(shape, vec![v; len]))
            }
            "Quant" | "IntQuant" => {
                let x = self.cst(node, 0)?;
                let (scale, zp, bits) = (self.cst(node, 1)?, self.cst(node, 2)?, self.cst(node, 3)?);
                let signed = node.attr_i("signed", 1) != 0;
                let narrow = node.attr_i("narrow", 0) != 0;
                let r = Rounding::parse(&node.attr_s("rounding_mode").unwrap_or_else(|| "ROUND".into())).map_err(|e| node.err(e))?;
                let b = bits.as_scalar().ok_or_else(|| node.err("per-element bit widths on a constant are not supported"))?;
                let sidx = broadcast_index(&scale.shape, &x.shape).map_err(|e| node.err(format!("scale: {e}")))?;
                let zidx = broadcast_index(&zp.shape, &x.shape).map_err(|e| node.err(format!("zero point: {e}")))?;
                let mut codes = Vec::with_capacity(x.len());
                let mut data = Vec::with_capacity(x.len());
                let mut sc = Vec::with_capacity(x.len());
                for i in 0..x.len() {
                    let (s, z) = (scale.data[sidx[i]], zp.data[zidx[i]]);
                    let (code, y) = steps::int_quant(x.data[i], s, z, b, signed, narrow, r);
                    codes.push(code - z);
                    data.push(y);
                    sc.push(s);
                }
                let bipolar = b == 1.0 && signed;
                let (min, max) = if bipolar { (-1, 1) } else { (steps::min_int(signed, narrow, b) as i64, steps::max_int(signed, narrow, b) as i64) };
                let zero_zp = zp.data.iter().all(|&z| z == 0.0);
                let mut t = Tensor::new(x.shape.clone(), data);
                t.quant = Some(QuantInfo { codes, scale: sc, min, max, bipolar, zero_zp });
                one(t)
            }
            "BipolarQuant" => {
                let x = self.cst(node, 0)?;
                let scale = self.cst(node, 1)?;
                let sidx = broadcast_index(&scale.shape, &x.shape).map_err(|e| node.err(format!("scale: {e}")))?;
                let codes: Vec<f64> = x.data.iter().map(|&v| if v >= 0.0 { 1.0 } else { -1.0 }).collect();
                let sc: Vec<f64> = sidx.iter().map(|&i| scale.data[i]).collect();
                let data = codes.iter().zip(&sc).map(|(c, s)| c * s).collect();
                let mut t = Tensor::new(x.shape.clone(), data);
                t.quant = Some(QuantInfo { codes, scale: sc, min: -1, max: 1, bipolar: true, zero_zp: true });
                one(t)
            }
            _ => Err(node.err(format!("cannot fold this op on constants (domain `{}`)", n.domain()))),
        }
    }
}

fn dedup(mut v: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    v.retain(|s| seen.insert(s.clone()));
    v
}

fn v_nonfinite(k: &Kind) -> bool {
    match k {
        Kind::Mul(v) | Kind::Div(v) | Kind::Add(v) | Kind::Sub(v) | Kind::RSub(v) => v.iter().any(|x| !x.is_finite()),
        _ => false,
    }
}

/// `T_i = min { t in [-m, m] : g(t) >= i }`, or `m + 1` when no reachable accumulator gets there;
/// `g` is non-decreasing.
fn search_threshold(g: &impl Fn(f64) -> usize, i: usize, m: i64) -> i64 {
    if g(m as f64) < i {
        return m + 1;
    }
    if g(-(m as f64)) >= i {
        return -m;
    }
    let (mut lo, mut hi) = (-m, m);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if g(mid as f64) >= i { hi = mid } else { lo = mid }
    }
    hi
}

fn check_acc(node: &NodeRef, max_acc: i64) -> Result<(), ImportError> {
    if max_acc >= i32::MAX as i64 {
        return Err(node.err(format!("accumulators could reach {max_acc}, beyond 32 bits")));
    }
    Ok(())
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-30) + 1e-12
}

fn per_tensor(node: &NodeRef, s: &[f64]) -> Result<f64, ImportError> {
    let s0 = s[0];
    if s.iter().any(|&v| (v - s0).abs() > 1e-6 * s0.abs()) {
        return Err(node.err(
            "its input has a different scale per channel; only a per-tensor activation scale folds into integer weights",
        ));
    }
    Ok(s0)
}

/// Smallest supported signed weight type holding `lo..=hi` (2, 4 or 8 bits).
fn weight_type_for(lo: i64, hi: i64) -> Option<WeightType> {
    [2u8, 4, 8].into_iter().map(|bits| WeightType { bits }).find(|w| lo >= w.min() as i64 && hi <= w.max() as i64)
}

fn nchw_perm(g: Shape) -> Vec<usize> {
    let (h, w, c) = g.dim();
    let mut p = vec![0; h * w * c];
    for ci in 0..c {
        for y in 0..h {
            for x in 0..w {
                p[(ci * h + y) * w + x] = (y * w + x) * c + ci;
            }
        }
    }
    p
}

fn squeeze(shape: &[usize], axes: &[i64]) -> Result<Vec<usize>, String> {
    let r = shape.len() as i64;
    let axes: Vec<usize> = axes.iter().map(|&a| (if a < 0 { a + r } else { a }) as usize).collect();
    if axes.is_empty() {
        return Ok(shape.iter().copied().filter(|&d| d != 1).collect());
    }
    if let Some(&a) = axes.iter().find(|&&a| a >= shape.len() || shape[a] != 1) {
        return Err(format!("cannot squeeze axis {a} of shape {shape:?}"));
    }
    Ok(shape.iter().enumerate().filter(|(i, _)| !axes.contains(i)).map(|(_, &d)| d).collect())
}

fn unsqueeze(shape: &[usize], axes: &[i64]) -> Result<Vec<usize>, String> {
    let r = (shape.len() + axes.len()) as i64;
    let mut axes: Vec<usize> = axes.iter().map(|&a| (if a < 0 { a + r } else { a }) as usize).collect();
    axes.sort_unstable();
    let mut out = shape.to_vec();
    for a in axes {
        if a > out.len() {
            return Err(format!("cannot unsqueeze axis {a} of shape {shape:?}"));
        }
        out.insert(a, 1);
    }
    Ok(out)
}

fn input_dims(input: &pb::ValueInfoProto) -> Result<Vec<usize>, ImportError> {
    use pb::type_proto::Value;
    let bad = |m: &str| ImportError::Graph(format!("input `{}`: {m}", input.name()));
    let Some(Value::TensorType(tt)) = input.r#type.as_ref().and_then(|t| t.value.as_ref()) else {
        return Err(bad("not a tensor"));
    };
    let shape = tt.shape.as_ref().ok_or_else(|| bad("has no shape"))?;
    let mut dims = vec![];
    for (i, d) in shape.dim.iter().enumerate() {
        use pb::tensor_shape_proto::dimension::Value as DV;
        match (&d.value, i) {
            (Some(DV::DimValue(v)), 0) if *v == 1 => {}
            (Some(DV::DimParam(_)) | None, 0) => {}
            (Some(DV::DimValue(v)), 0) => return Err(bad(&format!("batch dimension {v}; export with batch 1 or a symbolic batch"))),
            (Some(DV::DimValue(v)), _) if *v > 0 => dims.push(*v as usize),
            _ => return Err(bad(&format!("dimension {i} is not a fixed positive size"))),
        }
    }
    if dims.is_empty() {
        return Err(bad("has no dimensions beyond the batch"));
    }
    Ok(dims)
}
