//! Hand-built FINN-ONNX graphs: a MultiThreshold network (integer weights, finn domain, no
//! opset_import for it) against a direct float evaluation of the same graph, and graphs the importer
//! must refuse with an error naming the node, its op type and why.

use prost::Message;
use golden_model::Op;
use qonnx::pb;
use qonnx::{ImportError, Options, import_bytes};

fn tensor(name: &str, dims: &[i64], data: &[f32]) -> pb::TensorProto {
    pb::TensorProto {
        name: Some(name.into()),
        dims: dims.to_vec(),
        data_type: Some(pb::tensor_proto::DataType::Float as i32),
        float_data: data.to_vec(),
        ..Default::default()
    }
}

fn attr_f(name: &str, v: f32) -> pb::AttributeProto {
    pb::AttributeProto { name: Some(name.into()), f: Some(v), r#type: Some(1), ..Default::default() }
}
fn attr_i(name: &str, v: i64) -> pb::AttributeProto {
    pb::AttributeProto { name: Some(name.into()), i: Some(v), r#type: Some(2), ..Default::default() }
}
fn attr_s(name: &str, v: &str) -> pb::AttributeProto {
    pb::AttributeProto { name: Some(name.into()), s: Some(v.as_bytes().to_vec()), r#type: Some(3), ..Default::default() }
}
fn attr_ints(name: &str, v: &[i64]) -> pb::AttributeProto {
    pb::AttributeProto { name: Some(name.into()), ints: v.to_vec(), r#type: Some(7), ..Default::default() }
}

fn node(name: &str, op: &str, inputs: &[&str], outputs: &[&str], attrs: Vec<pb::AttributeProto>) -> pb::NodeProto {
    let domain = if op == "MultiThreshold" { "finn.custom_op.general" } else { "" };
    pb::NodeProto {
        name: Some(name.into()),
        op_type: Some(op.into()),
        domain: Some(domain.into()),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: outputs.iter().map(|s| s.to_string()).collect(),
        attribute: attrs,
        ..Default::default()
    }
}

fn value_info(name: &str, dims: &[i64]) -> pb::ValueInfoProto {
    use pb::tensor_shape_proto::{Dimension, dimension::Value};
    pb::ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(pb::TypeProto {
            value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
                elem_type: Some(1),
                shape: Some(pb::TensorShapeProto {
                    dim: dims.iter().map(|&d| Dimension { value: Some(Value::DimValue(d)), ..Default::default() }).collect(),
                }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn model(nodes: Vec<pb::NodeProto>, inits: Vec<pb::TensorProto>, inputs: &[(&str, &[i64])], output: &str) -> Vec<u8> {
    let graph = pb::GraphProto {
        name: Some("test".into()),
        node: nodes,
        initializer: inits,
        input: inputs.iter().map(|(n, d)| value_info(n, d)).collect(),
        output: vec![value_info(output, &[1])],
        ..Default::default()
    };
    // Only the standard domain is declared: custom domains need no opset_import.
    let m = pb::ModelProto {
        ir_version: Some(8),
        opset_import: vec![pb::OperatorSetIdProto { domain: Some(String::new()), version: Some(13) }],
        graph: Some(graph),
        ..Default::default()
    };
    m.encode_to_vec()
}

const W1: [f32; 12] = [1., -1., 1., -1., -1., 1., 1., 1., -1., 1., -1., -1.]; // [4][3]
const T1: [f32; 3] = [250.0, -40.5, 20.0]; // [3][1]
const W2: [f32; 6] = [1., -1., -1., 1., 1., 1.]; // [3][2]

/// x (1x4 pixels) -> MatMul W1 -> MultiThreshold (bipolar out) -> MatMul W2 -> Mul 0.5 -> Add bias -> ArgMax
fn base(extra: impl FnOnce(&mut Vec<pb::NodeProto>, &mut Vec<pb::TensorProto>)) -> Vec<u8> {
    let mut nodes = vec![
        node("mm1", "MatMul", &["x", "W1"], &["a1"], vec![]),
        node("mt1", "MultiThreshold", &["a1", "T1"], &["q1"], vec![attr_s("out_dtype", "BIPOLAR"), attr_f("out_scale", 2.0), attr_f("out_bias", -1.0)]),
        node("mm2", "MatMul", &["q1", "W2"], &["a2"], vec![]),
        node("scale", "Mul", &["a2", "S"], &["a3"], vec![]),
        node("bias", "Add", &["a3", "B"], &["logits"], vec![]),
        node("label", "ArgMax", &["logits"], &["y"], vec![attr_i("axis", 1), attr_i("keepdims", 1)]),
    ];
    let mut inits = vec![
        tensor("W1", &[4, 3], &W1),
        tensor("T1", &[3, 1], &T1),
        tensor("W2", &[3, 2], &W2),
        tensor("S", &[], &[0.5]),
        tensor("B", &[2], &[1.0, -0.5]),
    ];
    extra(&mut nodes, &mut inits);
    model(nodes, inits, &[("x", &[1, 4])], "y")
}

/// The base graph computed directly in floats.
fn reference(x: &[u8]) -> (Vec<f64>, usize) {
    let mut q = [0f64; 3];
    for (o, qo) in q.iter_mut().enumerate() {
        let a: f64 = (0..4).map(|j| x[j] as f64 * W1[j * 3 + o] as f64).sum();
        *qo = 2.0 * ((a >= T1[o] as f64) as i32 as f64) - 1.0;
    }
    let b = [1.0, -0.5];
    let logits: Vec<f64> = (0..2).map(|o| (0..3).map(|j| q[j] * W2[j * 2 + o] as f64).sum::<f64>() * 0.5 + b[o]).collect();
    let label = if logits[1] > logits[0] { 1 } else { 0 };
    (logits, label)
}

#[test]
fn multithreshold_graph_matches_float_evaluation() {
    let imp = import_bytes(&base(|_, _| {}), "base.onnx", None, &Options::default()).unwrap();
    assert_eq!(imp.output_scale, 0.5);
    let m = &imp.model;
    assert_eq!(m.layers().len(), 3, "{}", m.summary());
    let mut rng = 12345u64;
    let mut labels = [0usize; 2];
    for _ in 0..2000 {
        let x: Vec<u8> = (0..4)
            .map(|_| {
                rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                (rng >> 56) as u8
            })
            .collect();
        let (logits, label) = reference(&x);
        let inf = m.infer(&x).unwrap();
        assert_eq!(inf.label, label, "input {x:?}, logits {logits:?}");
        labels[label] += 1;
        for c in 0..2 {
            assert!((inf.logits[c] as f64 * imp.output_scale - logits[c]).abs() < 1e-12, "input {x:?}");
        }
    }
    assert!(labels[0] > 20 && labels[1] > 20, "both labels occur: {labels:?}");
}

fn import_err(bytes: &[u8]) -> (ImportError, String) {
    let e = import_bytes(bytes, "t.onnx", None, &Options::default()).expect_err("must be refused");
    let s = e.to_string();
    (e, s)
}

fn assert_node_err(bytes: &[u8], node: &str, op: &str, why: &str) {
    let (e, s) = import_err(bytes);
    match &e {
        ImportError::Node { node: n, op: o, .. } => {
            assert_eq!((n.as_str(), o.as_str()), (node, op), "{s}");
        }
        other => panic!("expected a node error, got {other:?}"),
    }
    assert!(s.contains(why), "`{s}` does not say `{why}`");
}

#[test]
fn unsupported_op_names_node() {
    let g = base(|n, _| {
        n[5].input[0] = "sm".into();
        n.insert(5, node("soft", "Softmax", &["logits"], &["sm"], vec![]));
    });
    assert_node_err(&g, "soft", "Softmax", "not supported");
}

#[test]
fn unquantized_input_of_a_layer() {
    let g = base(|n, _| n[1] = node("relu1", "Relu", &["a1"], &["q1"], vec![]));
    assert_node_err(&g, "mm2", "MatMul", "not quantized");
}

#[test]
fn float_weights_without_quantizer() {
    let g = base(|_, i| i[0] = tensor("W1", &[4, 3], &[0.3; 12]));
    assert_node_err(&g, "mm1", "MatMul", "without a quantizer");
}

#[test]
fn per_class_logit_scale() {
    let g = base(|_, i| i[3] = tensor("S", &[2], &[0.5, 0.25]));
    assert_node_err(&g, "bias", "Add", "scale differs between classes");
}

#[test]
fn fractional_logit_bias() {
    let g = base(|_, i| i[4] = tensor("B", &[2], &[1.0, -0.3]));
    assert_node_err(&g, "bias", "Add", "not an integer");
}

#[test]
fn relu_on_logits() {
    let g = base(|n, _| {
        n[5].input[0] = "r".into();
        n.insert(5, node("relu_out", "Relu", &["logits"], &["r"], vec![]));
    });
    assert_node_err(&g, "relu_out", "Relu", "only affine ops");
}

#[test]
fn branching_graph() {
    let g = base(|n, _| {
        n[2].input[0] = "a1".into(); // mm2 reads the accumulator too: a1 feeds two nodes
    });
    let (_, s) = import_err(&g);
    assert!(s.contains("feeds several nodes"), "{s}");
}

#[test]
fn strided_conv() {
    let nodes = vec![
        node("conv", "Conv", &["x", "W"], &["c"], vec![attr_ints("strides", &[2, 2]), attr_ints("kernel_shape", &[3, 3])]),
        node("flat", "Flatten", &["c"], &["f"], vec![]),
        node("label", "ArgMax", &["f"], &["y"], vec![attr_i("axis", 1)]),
    ];
    let g = model(nodes, vec![tensor("W", &[2, 1, 3, 3], &[1.0; 18])], &[("x", &[1, 1, 8, 8])], "y");
    assert_node_err(&g, "conv", "Conv", "stride 1");
}

#[test]
fn maxpool_3x3() {
    let nodes = vec![node("pool", "MaxPool", &["x"], &["p"], vec![attr_ints("kernel_shape", &[3, 3]), attr_ints("strides", &[3, 3])])];
    let g = model(nodes, vec![], &[("x", &[1, 1, 9, 9])], "p");
    assert_node_err(&g, "pool", "MaxPool", "only 2x2 max-pool");
}

#[test]
fn not_onnx_and_two_inputs() {
    let (e, s) = import_err(b"this is not protobuf at all \xff\xff");
    assert!(matches!(e, ImportError::Decode(_)), "{s}");
    let nodes = vec![node("add", "Add", &["x", "z"], &["y"], vec![])];
    let g = model(nodes, vec![], &[("x", &[1, 4]), ("z", &[1, 4])], "y");
    let (e, s) = import_err(&g);
    assert!(matches!(e, ImportError::Graph(_)) && s.contains("2 data inputs"), "{s}");
}

/// Damaged files (truncated, bytes changed) are errors or valid imports, never panics.
#[test]
fn damaged_files_never_panic() {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/fc_w1a2/model.onnx");
    let good = std::fs::read(path).unwrap();
    let mut s = 0x2545f4914f6cdd1du64;
    let mut rnd = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let (mut errs, mut oks) = (0, 0);
    for i in 0..300 {
        let mut b = good.clone();
        if i % 3 == 0 {
            b.truncate(rnd() as usize % good.len());
        } else {
            for _ in 0..1 + i % 4 {
                let p = rnd() as usize % b.len();
                b[p] = rnd() as u8;
            }
        }
        let r = std::panic::catch_unwind(|| import_bytes(&b, "damaged.onnx", None, &Options { input_scale: Some(1.0 / 255.0), ..Default::default() }).map(|_| ()));
        match r {
            Ok(Ok(())) => oks += 1,
            Ok(Err(e)) => {
                assert!(!e.to_string().is_empty());
                errs += 1
            }
            Err(_) => panic!("damaged file {i} made the importer panic"),
        }
    }
    eprintln!("300 damaged files: {errs} errors, {oks} still importable");
    assert!(errs > 50, "{errs} errors");
}

/// Gemm (transB, alpha, bias) -> BatchNormalization with a negative scale on one channel (its weight
/// row is negated) -> Clip -> unsigned 2-bit Quant -> Flatten -> MatMul with a 2-bit Quant on the weight
/// -> TopK, against a direct float evaluation.
#[test]
fn gemm_batchnorm_clip_quant_matches_float_evaluation() {
    let wg: [f32; 8] = [1., -1., 1., 1., -1., -1., 1., -1.]; // [2][4] (transB)
    let gamma = [0.8f32, -1.3];
    let beta = [0.1f32, 0.2];
    let mean = [30.0f32, -12.0];
    let var = [900.0f32, 400.0];
    let w2: [f32; 6] = [0.3, 0.0, -0.3, 0.01, 0.31, 0.1]; // [2][3] float, quantized by Quant below
    let quant = |name: &str, x: &str, y: &str, signed: i64, narrow: i64| {
        node(name, "Quant", &[x, &format!("{name}_s"), "zero", &format!("{name}_b")], &[y], vec![attr_i("signed", signed), attr_i("narrow", narrow), attr_s("rounding_mode", "ROUND")])
    };
    let mut q = quant("q1", "c1", "a1", 0, 0);
    q.domain = Some("qonnx.custom_op.general".into());
    let mut wq = quant("wq", "W2f", "W2", 1, 1);
    wq.domain = Some("qonnx.custom_op.general".into());
    let nodes = vec![
        node("gemm", "Gemm", &["x", "Wg", "Cg"], &["g"], vec![attr_i("transB", 1), attr_f("alpha", 0.5), attr_f("beta", 2.0)]),
        node("bn", "BatchNormalization", &["g", "gamma", "beta", "mean", "var"], &["b"], vec![attr_f("epsilon", 1e-5)]),
        node("clip", "Clip", &["b", "lo", "hi"], &["c1"], vec![]),
        q,
        wq,
        node("mm", "MatMul", &["a1", "W2"], &["logits"], vec![]),
        node("topk", "TopK", &["logits", "k"], &["values", "label"], vec![attr_i("axis", -1)]),
    ];
    let inits = vec![
        tensor("Wg", &[2, 4], &wg),
        tensor("Cg", &[2], &[3.0, -4.0]),
        tensor("gamma", &[2], &gamma),
        tensor("beta", &[2], &beta),
        tensor("mean", &[2], &mean),
        tensor("var", &[2], &var),
        tensor("lo", &[], &[0.0]),
        tensor("hi", &[], &[1.2]),
        tensor("q1_s", &[], &[0.5]),
        tensor("q1_b", &[], &[2.0]),
        tensor("zero", &[], &[0.0]),
        tensor("W2f", &[2, 3], &w2),
        tensor("wq_s", &[1, 3], &[0.3, 0.3, 0.3]),
        tensor("wq_b", &[], &[2.0]),
        pb::TensorProto { name: Some("k".into()), dims: vec![1], data_type: Some(7), int64_data: vec![1], ..Default::default() },
    ];
    let bytes = model(nodes, inits, &[("x", &[1, 4])], "label");
    let imp = import_bytes(&bytes, "gemm.onnx", None, &Options::default()).unwrap();
    let m = &imp.model;
    let Op::Dense(fc1) = &m.layers()[1].op else { panic!("{}", m.summary()) };
    assert!(fc1.matvec().weights().row(1).iter().zip(&wg[4..]).all(|(&w, &o)| w as f32 == -o) && fc1.matvec().weights()[[0, 0]] as f32 == wg[0], "channel 1 (negative batch-norm scale) has its weights negated");
    let wcode = |k: usize, o: usize| (w2[k * 3 + o] as f64 / 0.3).round_ties_even().clamp(-1.0, 1.0);
    let mut rng = 99u64;
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..3000 {
        let x: Vec<u8> = (0..4)
            .map(|_| {
                rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                (rng >> 56) as u8
            })
            .collect();
        let mut a = [0f64; 2];
        for o in 0..2 {
            let gsum: f64 = (0..4).map(|j| x[j] as f64 * wg[o * 4 + j] as f64).sum::<f64>() * 0.5 + 2.0 * [3.0, -4.0][o];
            let b = (gsum - mean[o] as f64) / (var[o] as f64 + 1e-5f32 as f64).sqrt() * gamma[o] as f64 + beta[o] as f64;
            let c = b.clamp(0.0, 1.2f32 as f64);
            a[o] = (c / 0.5).clamp(0.0, 3.0).round_ties_even() * 0.5;
        }
        let logits: Vec<f64> = (0..3).map(|o| (0..2).map(|k| a[k] * wcode(k, o) * 0.3f32 as f64).sum()).collect();
        let mut label = 0;
        for o in 1..3 {
            if logits[o] > logits[label] {
                label = o;
            }
        }
        let inf = m.infer(&x).unwrap();
        assert_eq!(inf.label, label, "input {x:?}: logits {logits:?}, golden {:?}", inf.logits);
        for o in 0..3 {
            assert!((inf.logits[o] as f64 * imp.output_scale - logits[o]).abs() < 1e-6, "input {x:?}");
        }
        seen.insert(label);
    }
    assert_eq!(seen.len(), 2, "classes 0 and 1 occur (2 cannot: the activations are not negative)");
}

/// ONNX Sign as the activation (three levels, -1 / 0 / +1: a 2-bit activation with an offset).
#[test]
fn sign_activation_matches_float_evaluation() {
    let nodes = vec![
        node("mm1", "MatMul", &["x", "W1"], &["a1"], vec![]),
        node("off", "Sub", &["a1", "T1"], &["b1"], vec![]),
        node("sign", "Sign", &["b1"], &["q1"], vec![]),
        node("mm2", "MatMul", &["q1", "W2"], &["logits"], vec![]),
        node("label", "ArgMax", &["logits"], &["y"], vec![attr_i("axis", 1)]),
    ];
    let inits = vec![tensor("W1", &[4, 3], &W1), tensor("T1", &[3], &[256.0, -48.0, 32.0]), tensor("W2", &[3, 2], &W2)];
    let imp = import_bytes(&model(nodes, inits, &[("x", &[1, 4])], "y"), "sign.onnx", None, &Options::default()).unwrap();
    let m = &imp.model;
    let mut rng = 7u64;
    let (mut zeros, mut labels) = (0, [0usize; 2]);
    for _ in 0..3000 {
        let x: Vec<u8> = (0..4)
            .map(|_| {
                rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                (rng >> 58) as u8 * 16 // coarse pixels: sums land exactly on the offsets often
            })
            .collect();
        let mut q = [0f64; 3];
        for (o, qo) in q.iter_mut().enumerate() {
            let a: f64 = (0..4).map(|j| x[j] as f64 * W1[j * 3 + o] as f64).sum::<f64>() - [256.0, -48.0, 32.0][o];
            *qo = if a > 0.0 { 1.0 } else if a < 0.0 { -1.0 } else { 0.0 };
            zeros += (a == 0.0) as usize;
        }
        let logits: Vec<f64> = (0..2).map(|o| (0..3).map(|j| q[j] * W2[j * 2 + o] as f64).sum()).collect();
        let label = if logits[1] > logits[0] { 1 } else { 0 };
        let inf = m.infer(&x).unwrap();
        assert_eq!(inf.label, label, "input {x:?}");
        for o in 0..2 {
            assert_eq!(inf.logits[o] as f64 * imp.output_scale, logits[o], "input {x:?}");
        }
        labels[label] += 1;
    }
    assert!(zeros > 10 && labels[0] > 20 && labels[1] > 20, "sign(0) exercised {zeros} times, labels {labels:?}");
}
