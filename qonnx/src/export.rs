//! Golden model to QONNX: standard ONNX ops (`Conv`, `MaxPool`, `Transpose`, `Reshape`, `MatMul`,
//! `Add`, `ArgMax`) with the integer weights as float tensors, and `MultiThreshold`
//! (`qonnx.custom_op.general`) for every activation, so `qonnx.core.onnx_exec` (and FINN) computes
//! what the golden model computes.
//!
//! The graph takes the pixels as they are (input `x`, float NCHW, annotated `finn_datatype` UINT8)
//! and has two outputs: `logits` (the integer logits, as floats) and `label` (ArgMax, lowest index on
//! ties, as the hardware). Bipolar activations are `MultiThreshold` with `out_scale` 2 and `out_bias`
//! -1 (values -1 / +1). Every value is an integer below 2^24 in magnitude, so float32 execution is
//! exact; a model whose accumulators could exceed that is refused.

use crate::pb;
use golden_model::ops::OutputStage;
use golden_model::{ActType, Model, Op};
use prost::Message;

const F32_EXACT: i64 = 1 << 24;

struct Builder {
    nodes: Vec<pb::NodeProto>,
    inits: Vec<pb::TensorProto>,
    annotations: Vec<pb::TensorAnnotation>,
    next: usize,
}

fn f32_tensor(name: &str, dims: &[usize], data: Vec<f32>) -> pb::TensorProto {
    pb::TensorProto {
        name: Some(name.into()),
        dims: dims.iter().map(|&d| d as i64).collect(),
        data_type: Some(pb::tensor_proto::DataType::Float as i32),
        raw_data: Some(data.iter().flat_map(|v| v.to_le_bytes()).collect()),
        ..Default::default()
    }
}

fn i64_tensor(name: &str, data: &[i64]) -> pb::TensorProto {
    pb::TensorProto {
        name: Some(name.into()),
        dims: vec![data.len() as i64],
        data_type: Some(pb::tensor_proto::DataType::Int64 as i32),
        raw_data: Some(data.iter().flat_map(|v| v.to_le_bytes()).collect()),
        ..Default::default()
    }
}

fn attr(name: &str) -> pb::AttributeProto {
    pb::AttributeProto { name: Some(name.into()), ..Default::default() }
}
fn attr_i(name: &str, v: i64) -> pb::AttributeProto {
    pb::AttributeProto { i: Some(v), r#type: Some(2), ..attr(name) }
}
fn attr_f(name: &str, v: f32) -> pb::AttributeProto {
    pb::AttributeProto { f: Some(v), r#type: Some(1), ..attr(name) }
}
fn attr_s(name: &str, v: &str) -> pb::AttributeProto {
    pb::AttributeProto { s: Some(v.as_bytes().to_vec()), r#type: Some(3), ..attr(name) }
}
fn attr_ints(name: &str, v: &[i64]) -> pb::AttributeProto {
    pb::AttributeProto { ints: v.to_vec(), r#type: Some(7), ..attr(name) }
}

fn finn_type(t: ActType) -> String {
    if t.is_bipolar() { "BIPOLAR".into() } else { format!("UINT{}", t.bits) }
}

impl Builder {
    fn node(&mut self, op: &str, domain: &str, name: &str, inputs: &[&str], attrs: Vec<pb::AttributeProto>) -> String {
        self.next += 1;
        let out = format!("{name}_out");
        self.nodes.push(pb::NodeProto {
            name: Some(name.into()),
            op_type: Some(op.into()),
            domain: Some(domain.into()),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![out.clone()],
            attribute: attrs,
            ..Default::default()
        });
        out
    }

    fn annotate(&mut self, tensor: &str, dt: &str) {
        self.annotations.push(pb::TensorAnnotation {
            tensor_name: Some(tensor.into()),
            quant_parameter_tensor_names: vec![pb::StringStringEntryProto { key: Some("finn_datatype".into()), value: Some(dt.into()) }],
        });
    }

    /// MultiThreshold of `x` (channel axis per `layout`) with the golden thresholds.
    fn thresholds(&mut self, name: &str, x: &str, t: &ndarray::Array2<i32>, out: ActType, layout: &str) -> String {
        let tname = format!("{name}_thresholds");
        let (c, n) = t.dim();
        self.inits.push(f32_tensor(&tname, &[c, n], t.iter().map(|&v| v as f32).collect()));
        let (scale, bias) = if out.is_bipolar() { (2.0, -1.0) } else { (1.0, 0.0) };
        let mut attrs = vec![attr_s("out_dtype", &finn_type(out)), attr_s("data_layout", layout)];
        if out.is_bipolar() {
            attrs.push(attr_f("out_scale", scale));
            attrs.push(attr_f("out_bias", bias));
        }
        let y = self.node("MultiThreshold", "qonnx.custom_op.general", &format!("{name}_act"), &[x, &tname], attrs);
        self.annotate(&y, &finn_type(out));
        y
    }
}

fn check_exact(what: &str, v: i64) -> Result<(), String> {
    if v.abs() > F32_EXACT {
        return Err(format!("{what}: values up to {v} are not exact in float32 (QONNX executes in float32)"));
    }
    Ok(())
}

/// QONNX model bytes of `model`.
pub fn export(model: &Model) -> Result<Vec<u8>, String> {
    let mut b = Builder { nodes: vec![], inits: vec![], annotations: vec![], next: 0 };
    let input = model.input_shape();
    let mut x = "x".to_string();
    b.annotate("x", "UINT8");
    for (i, l) in model.layers().iter().enumerate() {
        let ins = model.layer_input_shape(i);
        match &l.op {
            Op::InputQuant(q) => {
                x = b.thresholds(&l.name, &x, q.thresholds().thresholds(), q.out_type(), "NCHW");
            }
            Op::MaxPool => {
                x = b.node("MaxPool", "", &l.name, &[&x], vec![attr_ints("kernel_shape", &[2, 2]), attr_ints("strides", &[2, 2])]);
            }
            Op::Conv(c) => {
                let mv = c.matvec();
                let err = |m: String| format!("layer {}: {m}", l.name);
                check_exact(&l.name, mv.max_abs_acc()).map_err(err)?;
                let (k, ic, oc) = (c.kernel(), c.in_channels(), c.out_channels());
                let w = mv.weights();
                let mut data = vec![0f32; oc * ic * k * k];
                for o in 0..oc {
                    for ky in 0..k {
                        for kx in 0..k {
                            for ch in 0..ic {
                                data[((o * ic + ch) * k + ky) * k + kx] = w[[o, (ky * k + kx) * ic + ch]] as f32;
                            }
                        }
                    }
                }
                let wname = format!("{}_weights", l.name);
                b.inits.push(f32_tensor(&wname, &[oc, ic, k, k], data));
                b.annotate(&wname, &weight_type(mv.weight_type()));
                let acc = b.node("Conv", "", &l.name, &[&x, &wname], vec![attr_ints("kernel_shape", &[k as i64, k as i64])]);
                let OutputStage::Threshold(t) = mv.output() else { return Err(err("a conv without thresholds".into())) };
                x = b.thresholds(&l.name, &acc, t.thresholds(), t.out_type(), "NCHW");
            }
            Op::Dense(d) => {
                let mv = d.matvec();
                let err = |m: String| format!("layer {}: {m}", l.name);
                check_exact(&l.name, mv.max_abs_acc()).map_err(err)?;
                // The golden model flattens HWC; the ONNX map is NCHW.
                if i == 0 || !matches!(model.layers()[i - 1].op, Op::Dense(_)) {
                    let t = b.node("Transpose", "", &format!("{}_to_nhwc", l.name), &[&x], vec![attr_ints("perm", &[0, 2, 3, 1])]);
                    let sname = format!("{}_flat_shape", l.name);
                    b.inits.push(i64_tensor(&sname, &[1, ins.len() as i64]));
                    x = b.node("Reshape", "", &format!("{}_flatten", l.name), &[&t, &sname], vec![]);
                }
                let w = mv.weights();
                let (n, k) = w.dim();
                let wname = format!("{}_weights", l.name);
                let data: Vec<f32> = (0..k).flat_map(|j| (0..n).map(move |o| (o, j))).map(|(o, j)| w[[o, j]] as f32).collect();
                b.inits.push(f32_tensor(&wname, &[k, n], data));
                b.annotate(&wname, &weight_type(mv.weight_type()));
                let acc = b.node("MatMul", "", &l.name, &[&x, &wname], vec![]);
                match mv.output() {
                    OutputStage::Threshold(t) => x = b.thresholds(&l.name, &acc, t.thresholds(), t.out_type(), "NC"),
                    OutputStage::Bias(bias) => {
                        for &v in bias {
                            check_exact(&l.name, mv.max_abs_acc() + (v as i64).abs()).map_err(err)?;
                        }
                        let bname = format!("{}_bias", l.name);
                        b.inits.push(f32_tensor(&bname, &[n], bias.iter().map(|&v| v as f32).collect()));
                        x = b.node("Add", "", &format!("{}_bias", l.name), &[&acc, &bname], vec![]);
                    }
                }
            }
        }
    }
    let logits = x;
    let label = b.node("ArgMax", "", "label", &[&logits], vec![attr_i("axis", 1), attr_i("keepdims", 1)]);
    let classes = model.classes().len() as i64;
    let vi = |name: &str, dims: &[i64], elem: pb::tensor_proto::DataType| {
        use pb::tensor_shape_proto::{Dimension, dimension::Value};
        pb::ValueInfoProto {
            name: Some(name.into()),
            r#type: Some(pb::TypeProto {
                value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
                    elem_type: Some(elem as i32),
                    shape: Some(pb::TensorShapeProto {
                        dim: dims.iter().map(|&d| Dimension { value: Some(Value::DimValue(d)), ..Default::default() }).collect(),
                    }),
                })),
                ..Default::default()
            }),
            ..Default::default()
        }
    };
    use pb::tensor_proto::DataType as D;
    // Rename the two outputs.
    let rename = |nodes: &mut Vec<pb::NodeProto>, from: &str, to: &str| {
        for n in nodes.iter_mut() {
            for s in n.input.iter_mut().chain(n.output.iter_mut()) {
                if s == from {
                    *s = to.to_string();
                }
            }
        }
    };
    rename(&mut b.nodes, &logits, "logits");
    rename(&mut b.nodes, &label, "label");
    let graph = pb::GraphProto {
        name: Some(model.name().to_string()),
        node: b.nodes,
        initializer: b.inits,
        input: vec![vi("x", &[1, input.channels as i64, input.height as i64, input.width as i64], D::Float)],
        output: vec![vi("logits", &[1, classes], D::Float), vi("label", &[1, 1], D::Int64)],
        quantization_annotation: b.annotations,
        doc_string: Some(format!("golden model {} ({}), exported by qnn-cosim", model.name(), model.content_hash())),
        ..Default::default()
    };
    let m = pb::ModelProto {
        ir_version: Some(8),
        producer_name: Some("qnn-cosim".into()),
        producer_version: Some(env!("CARGO_PKG_VERSION").into()),
        opset_import: vec![
            pb::OperatorSetIdProto { domain: Some(String::new()), version: Some(13) },
            pb::OperatorSetIdProto { domain: Some("qonnx.custom_op.general".into()), version: Some(1) },
        ],
        graph: Some(graph),
        ..Default::default()
    };
    Ok(m.encode_to_vec())
}

fn weight_type(w: golden_model::WeightType) -> String {
    if w.is_bipolar() { "BIPOLAR".into() } else { format!("INT{}", w.bits) }
}
