//! The model file: one JSON document (`*.qnn.json`), versioned and self-describing, with tensors as
//! base64 of little-endian integers and a SHA-256 checksum over the canonical serialization.
//! Every field is validated on load; a corrupt file is an error naming the layer and field, never a panic.

use crate::error::{ModelError, Result};
use crate::model::{Layer, Model, Op, Provenance};
use crate::ops::{Conv, Dense, InputQuant, MatVec, MultiThreshold, OutputStage, Shape};
use crate::value::{ActType, WeightType};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ndarray::Array2;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::Path;

pub const FORMAT: &str = "qnn-model";
pub const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileModel {
    format: String,
    version: u32,
    name: String,
    input: Shape,
    classes: Vec<String>,
    layers: Vec<FileLayer>,
    #[serde(default)]
    provenance: Provenance,
    #[serde(default)]
    checksum: String,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
enum FileLayer {
    InputQuant {
        name: String,
        out_bits: u8,
        thresholds: Tensor,
    },
    Conv {
        name: String,
        kernel: usize,
        in_channels: usize,
        out_channels: usize,
        in_bits: u8,
        weight_bits: u8,
        out_bits: u8,
        weights: Tensor,
        thresholds: Tensor,
    },
    Maxpool {
        name: String,
        size: usize,
    },
    Dense {
        name: String,
        in_features: usize,
        out_features: usize,
        in_bits: u8,
        weight_bits: u8,
        /// `None`: the logit layer, with `bias`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        out_bits: Option<u8>,
        weights: Tensor,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        thresholds: Option<Tensor>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        bias: Option<Tensor>,
    },
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Tensor {
    shape: Vec<usize>,
    dtype: String,
    data: String,
}

impl Tensor {
    fn from_i8(a: &Array2<i8>) -> Self {
        let bytes: Vec<u8> = a.iter().map(|&v| v as u8).collect();
        Tensor { shape: a.shape().to_vec(), dtype: "i8".into(), data: B64.encode(bytes) }
    }
    fn from_i32(shape: Vec<usize>, values: impl Iterator<Item = i32>) -> Self {
        let bytes: Vec<u8> = values.flat_map(|v| v.to_le_bytes()).collect();
        Tensor { shape, dtype: "i32".into(), data: B64.encode(bytes) }
    }

    fn decode(&self, field: &str, dtype: &str, rank: usize) -> Result<Vec<i64>, String> {
        if self.dtype != dtype {
            return Err(format!("{field}: dtype `{}`, expected `{dtype}`", self.dtype));
        }
        if self.shape.len() != rank {
            return Err(format!("{field}: rank {} shape {:?}, expected rank {rank}", self.shape.len(), self.shape));
        }
        let n = self
            .shape
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .ok_or_else(|| format!("{field}: shape {:?} overflows", self.shape))?;
        let width = if dtype == "i8" { 1 } else { 4 };
        let bytes = B64.decode(&self.data).map_err(|e| format!("{field}: bad base64 data: {e}"))?;
        if Some(bytes.len()) != n.checked_mul(width) {
            return Err(format!(
                "{field}: {} bytes of data for shape {:?} ({n} x {dtype})",
                bytes.len(),
                self.shape
            ));
        }
        Ok(if width == 1 {
            bytes.iter().map(|&b| b as i8 as i64).collect()
        } else {
            bytes.chunks_exact(4).map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as i64).collect()
        })
    }

    fn matrix_i8(&self, field: &str, rows: usize, cols: usize) -> Result<Array2<i8>, String> {
        let v = self.decode(field, "i8", 2)?;
        if self.shape != [rows, cols] {
            return Err(format!("{field}: shape {:?}, expected [{rows}, {cols}]", self.shape));
        }
        Ok(Array2::from_shape_vec((rows, cols), v.into_iter().map(|x| x as i8).collect()).expect("length checked"))
    }

    fn matrix_i32(&self, field: &str, rows: usize, cols: usize) -> Result<Array2<i32>, String> {
        let v = self.decode(field, "i32", 2)?;
        if self.shape != [rows, cols] {
            return Err(format!("{field}: shape {:?}, expected [{rows}, {cols}]", self.shape));
        }
        Ok(Array2::from_shape_vec((rows, cols), v.into_iter().map(|x| x as i32).collect()).expect("length checked"))
    }

    fn vector_i32(&self, field: &str, len: usize) -> Result<Vec<i32>, String> {
        let v = self.decode(field, "i32", 1)?;
        if self.shape != [len] {
            return Err(format!("{field}: shape {:?}, expected [{len}]", self.shape));
        }
        Ok(v.into_iter().map(|x| x as i32).collect())
    }
}

fn act_type(field: &str, bits: u8) -> Result<ActType, String> {
    ActType::new(bits).ok_or_else(|| format!("{field} = {bits}; supported: 1, 2, 4, 8"))
}
fn weight_type(bits: u8) -> Result<WeightType, String> {
    WeightType::new(bits).ok_or_else(|| format!("weight_bits = {bits}; supported: 1, 2, 4, 8"))
}

impl FileLayer {
    fn name(&self) -> &str {
        match self {
            FileLayer::InputQuant { name, .. }
            | FileLayer::Conv { name, .. }
            | FileLayer::Maxpool { name, .. }
            | FileLayer::Dense { name, .. } => name,
        }
    }

    fn from_layer(l: &Layer) -> Self {
        let thresholds = |t: &MultiThreshold| {
            let a = t.thresholds();
            Tensor::from_i32(a.shape().to_vec(), a.iter().copied())
        };
        let name = l.name.clone();
        match &l.op {
            Op::InputQuant(q) => {
                FileLayer::InputQuant { name, out_bits: q.out_type().bits, thresholds: thresholds(q.thresholds()) }
            }
            Op::Conv(c) => {
                let mv = c.matvec();
                let OutputStage::Threshold(t) = mv.output() else { unreachable!("Conv::new requires thresholds") };
                FileLayer::Conv {
                    name,
                    kernel: c.kernel(),
                    in_channels: c.in_channels(),
                    out_channels: c.out_channels(),
                    in_bits: mv.in_type().bits,
                    weight_bits: mv.weight_type().bits,
                    out_bits: t.out_type().bits,
                    weights: Tensor::from_i8(mv.weights()),
                    thresholds: thresholds(t),
                }
            }
            Op::MaxPool => FileLayer::Maxpool { name, size: crate::ops::maxpool::POOL },
            Op::Dense(d) => {
                let mv = d.matvec();
                let (out_bits, t, bias) = match mv.output() {
                    OutputStage::Threshold(t) => (Some(t.out_type().bits), Some(thresholds(t)), None),
                    OutputStage::Bias(b) => (None, None, Some(Tensor::from_i32(vec![b.len()], b.iter().copied()))),
                };
                FileLayer::Dense {
                    name,
                    in_features: d.in_features(),
                    out_features: d.out_features(),
                    in_bits: mv.in_type().bits,
                    weight_bits: mv.weight_type().bits,
                    out_bits,
                    weights: Tensor::from_i8(mv.weights()),
                    thresholds: t,
                    bias,
                }
            }
        }
    }

    fn to_op(&self) -> Result<Op, String> {
        Ok(match self {
            FileLayer::InputQuant { out_bits, thresholds, .. } => {
                let out = act_type("out_bits", *out_bits)?;
                let rows = thresholds.shape.first().copied().unwrap_or(0);
                let t = thresholds.matrix_i32("thresholds", rows, out.num_thresholds())?;
                Op::InputQuant(InputQuant::new(MultiThreshold::new(out, t)?))
            }
            FileLayer::Conv {
                kernel, in_channels, out_channels, in_bits, weight_bits, out_bits, weights, thresholds, ..
            } => {
                let cols = kernel
                    .checked_mul(*kernel)
                    .and_then(|k| k.checked_mul(*in_channels))
                    .ok_or("kernel x kernel x in_channels overflows")?;
                let w = weights.matrix_i8("weights", *out_channels, cols)?;
                let out = act_type("out_bits", *out_bits)?;
                let t = thresholds.matrix_i32("thresholds", *out_channels, out.num_thresholds())?;
                let mv = MatVec::new(
                    act_type("in_bits", *in_bits)?,
                    weight_type(*weight_bits)?,
                    w,
                    OutputStage::Threshold(MultiThreshold::new(out, t)?),
                )?;
                Op::Conv(Conv::new(*kernel, *in_channels, mv)?)
            }
            FileLayer::Maxpool { size, .. } => {
                if *size != crate::ops::maxpool::POOL {
                    return Err(format!("max-pool size {size}; only 2x2 is supported"));
                }
                Op::MaxPool
            }
            FileLayer::Dense {
                in_features, out_features, in_bits, weight_bits, out_bits, weights, thresholds, bias, ..
            } => {
                let w = weights.matrix_i8("weights", *out_features, *in_features)?;
                let output = match (out_bits, thresholds, bias) {
                    (Some(bits), Some(t), None) => {
                        let out = act_type("out_bits", *bits)?;
                        let t = t.matrix_i32("thresholds", *out_features, out.num_thresholds())?;
                        OutputStage::Threshold(MultiThreshold::new(out, t)?)
                    }
                    (None, None, Some(b)) => OutputStage::Bias(b.vector_i32("bias", *out_features)?),
                    _ => {
                        return Err("a dense layer has either out_bits with thresholds, or bias (logit layer)".into());
                    }
                };
                Op::Dense(Dense::new(MatVec::new(act_type("in_bits", *in_bits)?, weight_type(*weight_bits)?, w, output)?))
            }
        })
    }
}

impl FileModel {
    fn from_model(m: &Model) -> Self {
        let mut f = FileModel {
            format: FORMAT.into(),
            version: VERSION,
            name: m.name().into(),
            input: m.input_shape(),
            classes: m.classes().to_vec(),
            layers: m.layers().iter().map(FileLayer::from_layer).collect(),
            provenance: m.provenance.clone(),
            checksum: String::new(),
        };
        f.checksum = f.compute_checksum();
        f
    }

    fn compute_checksum(&self) -> String {
        checksum_of(&serde_json::to_value(self).expect("model serializes"))
    }
}

/// SHA-256 (hex) of a model document in canonical form: compact JSON, keys sorted, `checksum` set to
/// the empty string. Independent of key order and whitespace, so any JSON tool can recompute it.
pub fn checksum_of(doc: &serde_json::Value) -> String {
    let mut doc = doc.clone();
    if let Some(obj) = doc.as_object_mut() {
        obj.insert("checksum".into(), serde_json::Value::String(String::new()));
    }
    hex::encode(Sha256::digest(serde_json::to_vec(&doc).expect("JSON value serializes")))
}

impl Model {
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(&FileModel::from_model(self)).expect("model serializes")
    }

    pub fn from_json(text: &str) -> Result<Model> {
        let f: FileModel = serde_json::from_str(text).map_err(|e| ModelError::Syntax(e.to_string()))?;
        if f.format != FORMAT || f.version != VERSION {
            return Err(ModelError::Format { found: f.format, version: f.version });
        }
        let computed = f.compute_checksum();
        if f.checksum != computed {
            return Err(ModelError::Checksum { stored: f.checksum, computed });
        }
        let layers = f
            .layers
            .iter()
            .enumerate()
            .map(|(i, l)| {
                l.to_op().map(|op| Layer { name: l.name().to_string(), op }).map_err(|msg| ModelError::Layer {
                    layer: i,
                    name: l.name().to_string(),
                    msg,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Model::new(f.name, f.input, f.classes, layers, f.provenance)
    }

    pub fn load(path: impl AsRef<Path>) -> Result<Model> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| ModelError::Io { path: path.display().to_string(), msg: e.to_string() })?;
        let text = std::str::from_utf8(&bytes)
            .map_err(|e| ModelError::Syntax(format!("{}: not UTF-8 text: {e}", path.display())))?;
        Model::from_json(text).map_err(|e| match e {
            ModelError::Syntax(m) => ModelError::Syntax(format!("{}: {m}", path.display())),
            other => other,
        })
    }

    /// Writes to a temporary file beside `path`, then renames: never a partial model file.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        crate::io::write_atomic(path.as_ref(), self.to_json().as_bytes())
            .map_err(|e| ModelError::Io { path: path.as_ref().display().to_string(), msg: e.to_string() })
    }

    /// SHA-256 of the canonical file content: identifies a model in reports and caches.
    pub fn content_hash(&self) -> String {
        FileModel::from_model(self).checksum
    }
}
