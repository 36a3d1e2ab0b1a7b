//! Constant tensors of an ONNX graph (initializers and folded constant subgraphs) as `f64`, with
//! numpy broadcasting, and the integer form of quantized weights.

use crate::pb;
use std::path::Path;

/// How a constant came out of a quantizer: `value = code * scale`, element by element. Kept through
/// layout ops (transpose, reshape) so a weight's integers are exact, not recovered from floats.
#[derive(Clone, Debug, PartialEq)]
pub struct QuantInfo {
    /// Integer code of every element (`round(x / scale + zeropt) - zeropt`, clipped).
    pub codes: Vec<f64>,
    /// Scale of every element (the quantizer's scale broadcast to the tensor's shape).
    pub scale: Vec<f64>,
    /// Value range of the codes the quantizer allows.
    pub min: i64,
    pub max: i64,
    /// A bipolar quantizer (codes -1 and +1 only).
    pub bipolar: bool,
    /// Zero point was zero everywhere.
    pub zero_zp: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    pub shape: Vec<usize>,
    pub data: Vec<f64>,
    pub quant: Option<QuantInfo>,
}

impl Tensor {
    pub fn new(shape: Vec<usize>, data: Vec<f64>) -> Self {
        debug_assert_eq!(shape.iter().product::<usize>(), data.len());
        Tensor { shape, data, quant: None }
    }
    pub fn scalar(v: f64) -> Self {
        Tensor::new(vec![], vec![v])
    }
    pub fn vec1(v: Vec<f64>) -> Self {
        Tensor::new(vec![v.len()], v)
    }
    pub fn len(&self) -> usize {
        self.data.len()
    }
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
    /// The single value of a one-element tensor.
    pub fn as_scalar(&self) -> Option<f64> {
        (self.data.len() == 1).then(|| self.data[0])
    }
    /// Values as integers (shape arithmetic); `None` if one is not integral.
    pub fn as_ints(&self) -> Option<Vec<i64>> {
        self.data.iter().map(|&v| (v.fract() == 0.0 && v.is_finite()).then_some(v as i64)).collect()
    }
    pub fn with_shape(mut self, shape: Vec<usize>) -> Self {
        debug_assert_eq!(shape.iter().product::<usize>(), self.data.len());
        self.shape = shape;
        self
    }
    /// Element permutation (transpose): output element `i` is input element `src[i]`; keeps the
    /// integer form.
    pub fn gather_elems(&self, shape: Vec<usize>, src: &[usize]) -> Tensor {
        let data = src.iter().map(|&i| self.data[i]).collect();
        let quant = self.quant.as_ref().map(|q| QuantInfo {
            codes: src.iter().map(|&i| q.codes[i]).collect(),
            scale: src.iter().map(|&i| q.scale[i]).collect(),
            ..q.clone()
        });
        Tensor { shape, data, quant }
    }

    /// Reads an ONNX TensorProto; external data is read relative to `dir`.
    pub fn from_proto(t: &pb::TensorProto, dir: Option<&Path>) -> Result<Tensor, String> {
        let shape: Vec<usize> = t
            .dims
            .iter()
            .map(|&d| usize::try_from(d).map_err(|_| format!("negative dimension {d}")))
            .collect::<Result<_, _>>()?;
        let n: usize = shape.iter().product();
        let dt = t.data_type();
        let external;
        let raw: Option<&[u8]> = if t.data_location() == pb::tensor_proto::DataLocation::External {
            external = read_external(t, dir)?;
            Some(&external)
        } else {
            t.raw_data.as_deref()
        };
        use pb::tensor_proto::DataType as D;
        let data: Vec<f64> = match raw {
            Some(raw) => {
                let (size, conv): (usize, fn(&[u8]) -> f64) = match dt {
                    x if x == D::Float as i32 => (4, |b| f32::from_le_bytes(b.try_into().unwrap()) as f64),
                    x if x == D::Double as i32 => (8, |b| f64::from_le_bytes(b.try_into().unwrap())),
                    x if x == D::Int64 as i32 => (8, |b| i64::from_le_bytes(b.try_into().unwrap()) as f64),
                    x if x == D::Int32 as i32 => (4, |b| i32::from_le_bytes(b.try_into().unwrap()) as f64),
                    x if x == D::Int16 as i32 => (2, |b| i16::from_le_bytes(b.try_into().unwrap()) as f64),
                    x if x == D::Uint16 as i32 => (2, |b| u16::from_le_bytes(b.try_into().unwrap()) as f64),
                    x if x == D::Int8 as i32 => (1, |b| b[0] as i8 as f64),
                    x if x == D::Uint8 as i32 || x == D::Bool as i32 => (1, |b| b[0] as f64),
                    x if x == D::Uint32 as i32 => (4, |b| u32::from_le_bytes(b.try_into().unwrap()) as f64),
                    x if x == D::Uint64 as i32 => (8, |b| u64::from_le_bytes(b.try_into().unwrap()) as f64),
                    x if x == D::Float16 as i32 => (2, |b| f16_to_f64(u16::from_le_bytes(b.try_into().unwrap()))),
                    other => return Err(format!("tensor data type {} is not supported", dtype_name(other))),
                };
                if raw.len() != n * size {
                    return Err(format!("raw data has {} bytes, {n} elements of {size} bytes expected", raw.len()));
                }
                raw.chunks_exact(size).map(conv).collect()
            }
            None => match dt {
                x if x == D::Float as i32 => t.float_data.iter().map(|&v| v as f64).collect(),
                x if x == D::Double as i32 => t.double_data.clone(),
                x if x == D::Int64 as i32 => t.int64_data.iter().map(|&v| v as f64).collect(),
                x if x == D::Uint64 as i32 || x == D::Uint32 as i32 => t.uint64_data.iter().map(|&v| v as f64).collect(),
                x if [D::Int32, D::Int16, D::Int8, D::Uint16, D::Uint8, D::Bool].iter().any(|d| *d as i32 == x) => {
                    t.int32_data.iter().map(|&v| v as f64).collect()
                }
                x if x == D::Float16 as i32 => t.int32_data.iter().map(|&v| f16_to_f64(v as u16)).collect(),
                other => return Err(format!("tensor data type {} is not supported", dtype_name(other))),
            },
        };
        if data.len() != n {
            return Err(format!("tensor holds {} values, its shape {shape:?} needs {n}", data.len()));
        }
        Ok(Tensor::new(shape, data))
    }
}

fn read_external(t: &pb::TensorProto, dir: Option<&Path>) -> Result<Vec<u8>, String> {
    let get = |k: &str| t.external_data.iter().find(|e| e.key() == k).map(|e| e.value().to_string());
    let location = get("location").ok_or("external data without a location")?;
    let dir = dir.ok_or_else(|| format!("tensor data is in an external file `{location}`, but the model was not read from a file"))?;
    if Path::new(&location).is_absolute() || location.split(['/', '\\']).any(|p| p == "..") {
        return Err(format!("external data location `{location}` must be a relative path inside the model's folder"));
    }
    let path = dir.join(&location);
    let bytes = std::fs::read(&path).map_err(|e| format!("cannot read external data {}: {e}", path.display()))?;
    let offset: usize = get("offset").map(|s| s.parse().map_err(|_| format!("bad external data offset `{s}`"))).transpose()?.unwrap_or(0);
    let length: Option<usize> = get("length").map(|s| s.parse().map_err(|_| format!("bad external data length `{s}`"))).transpose()?;
    let end = match length {
        Some(l) => offset.checked_add(l).ok_or("external data range overflows")?,
        None => bytes.len(),
    };
    if offset > end || end > bytes.len() {
        return Err(format!("external data range {offset}..{end} is outside {} ({} bytes)", path.display(), bytes.len()));
    }
    Ok(bytes[offset..end].to_vec())
}

fn f16_to_f64(h: u16) -> f64 {
    let sign = if h >> 15 == 1 { -1.0 } else { 1.0 };
    let exp = ((h >> 10) & 0x1f) as i32;
    let frac = (h & 0x3ff) as f64;
    match exp {
        0 => sign * frac * 2f64.powi(-24),
        31 => if frac == 0.0 { sign * f64::INFINITY } else { f64::NAN },
        e => sign * (1.0 + frac / 1024.0) * 2f64.powi(e - 15),
    }
}

pub fn dtype_name(dt: i32) -> String {
    pb::tensor_proto::DataType::try_from(dt).map(|d| d.as_str_name().to_string()).unwrap_or_else(|_| format!("#{dt}"))
}

/// Numpy broadcast of two shapes.
pub fn broadcast_shape(a: &[usize], b: &[usize]) -> Result<Vec<usize>, String> {
    let n = a.len().max(b.len());
    let mut out = vec![0; n];
    for i in 0..n {
        let da = if i + a.len() >= n { a[i + a.len() - n] } else { 1 };
        let db = if i + b.len() >= n { b[i + b.len() - n] } else { 1 };
        out[i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return Err(format!("shapes {a:?} and {b:?} do not broadcast")),
        };
    }
    Ok(out)
}

/// Index into a tensor of shape `from` for every element of the broadcast shape `to` (row-major).
pub fn broadcast_index(from: &[usize], to: &[usize]) -> Result<Vec<usize>, String> {
    if from.len() > to.len() {
        return Err(format!("shape {from:?} does not broadcast to {to:?}"));
    }
    let off = to.len() - from.len();
    for (i, &d) in from.iter().enumerate() {
        if d != 1 && d != to[i + off] {
            return Err(format!("shape {from:?} does not broadcast to {to:?}"));
        }
    }
    let n: usize = to.iter().product();
    let mut strides = vec![0usize; to.len()];
    let mut s = 1;
    for i in (0..from.len()).rev() {
        strides[i + off] = if from[i] == 1 { 0 } else { s };
        s *= from[i];
    }
    let mut idx = vec![0usize; n];
    let mut coord = vec![0usize; to.len()];
    for (k, slot) in idx.iter_mut().enumerate() {
        if k > 0 {
            for d in (0..to.len()).rev() {
                coord[d] += 1;
                if coord[d] < to[d] {
                    break;
                }
                coord[d] = 0;
            }
        }
        *slot = coord.iter().zip(&strides).map(|(c, s)| c * s).sum();
    }
    Ok(idx)
}

/// Element-wise binary op with broadcasting.
pub fn binary(a: &Tensor, b: &Tensor, f: impl Fn(f64, f64) -> f64) -> Result<Tensor, String> {
    let shape = broadcast_shape(&a.shape, &b.shape)?;
    let ia = broadcast_index(&a.shape, &shape)?;
    let ib = broadcast_index(&b.shape, &shape)?;
    let data = ia.iter().zip(&ib).map(|(&i, &j)| f(a.data[i], b.data[j])).collect();
    Ok(Tensor::new(shape, data))
}

/// Row-major strides of `shape`.
pub fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1usize; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// For a transpose by `perm`: output shape and, for every output element, its input element.
pub fn transpose_index(shape: &[usize], perm: &[usize]) -> Result<(Vec<usize>, Vec<usize>), String> {
    let r = shape.len();
    let mut seen = vec![false; r];
    if perm.len() != r || perm.iter().any(|&p| p >= r || std::mem::replace(&mut seen[p], true)) {
        return Err(format!("perm {perm:?} is not a permutation of {r} axes"));
    }
    let out_shape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
    let in_strides = strides(shape);
    let n: usize = shape.iter().product();
    let mut src = Vec::with_capacity(n);
    let mut coord = vec![0usize; r];
    for k in 0..n {
        if k > 0 {
            for d in (0..r).rev() {
                coord[d] += 1;
                if coord[d] < out_shape[d] {
                    break;
                }
                coord[d] = 0;
            }
        }
        src.push((0..r).map(|d| coord[d] * in_strides[perm[d]]).sum());
    }
    Ok((out_shape, src))
}

/// Target shape of an ONNX Reshape (`0` copies the input dimension unless `allowzero`, `-1` is
/// inferred).
pub fn reshape_target(input: &[usize], spec: &[i64], allowzero: bool) -> Result<Vec<usize>, String> {
    let n: usize = input.iter().product();
    let mut out = Vec::with_capacity(spec.len());
    let mut infer = None;
    for (i, &s) in spec.iter().enumerate() {
        match s {
            -1 if infer.is_none() => {
                infer = Some(i);
                out.push(1);
            }
            0 if !allowzero => out.push(*input.get(i).ok_or_else(|| format!("shape {spec:?}: 0 at axis {i} beyond the input's rank"))?),
            s if s >= 0 => out.push(s as usize),
            _ => return Err(format!("invalid reshape target {spec:?}")),
        }
    }
    if let Some(i) = infer {
        let rest: usize = out.iter().product();
        if rest == 0 || !n.is_multiple_of(rest) {
            return Err(format!("cannot reshape {input:?} to {spec:?}"));
        }
        out[i] = n / rest;
    }
    if out.iter().product::<usize>() != n {
        return Err(format!("cannot reshape {input:?} ({n} elements) to {out:?}"));
    }
    Ok(out)
}
