//! Proptest strategies for random, valid ops and models (feature `testing`). Shared by the golden
//! model's own property tests and by the RTL-vs-golden property tests, so both explore the same space.

use crate::model::{Layer, Model, Op, Provenance};
use crate::ops::{Conv, Dense, InputQuant, MatVec, MultiThreshold, OutputStage, Shape};
use crate::value::{ActType, SUPPORTED_BITS, WeightType};
use ndarray::Array2;
use proptest::prelude::*;

pub fn bits() -> impl Strategy<Value = u8> {
    proptest::sample::select(SUPPORTED_BITS.to_vec())
}

/// Values of an activation type, `len` of them.
pub fn activations(t: ActType, len: usize) -> impl Strategy<Value = Vec<i32>> {
    proptest::collection::vec(t.min()..=t.max(), len)
        .prop_map(move |v| v.into_iter().map(|x| if t.is_bipolar() && x == 0 { 1 } else { x }).collect())
}

pub fn weights(t: WeightType, rows: usize, cols: usize) -> impl Strategy<Value = Array2<i8>> {
    proptest::collection::vec(t.min()..=t.max(), rows * cols).prop_map(move |v| {
        let v = v.into_iter().map(|x| if t.is_bipolar() && x == 0 { 1 } else { x as i8 }).collect();
        Array2::from_shape_vec((rows, cols), v).expect("length matches")
    })
}

/// Sorted thresholds, mostly inside `-spread..=spread` (where accumulators land) and now and then
/// outside it, so "never" and "always" levels are exercised too.
pub fn thresholds(out: ActType, rows: usize, spread: i32) -> impl Strategy<Value = MultiThreshold> {
    let nt = out.num_thresholds();
    let one = prop_oneof![
        8 => -spread..=spread,
        1 => (spread + 1)..=(spread + 3),
        1 => (-spread - 3)..=(-spread - 1),
    ];
    proptest::collection::vec(proptest::collection::vec(one, nt), rows).prop_map(move |rows_v| {
        let rows_n = rows_v.len();
        let flat: Vec<i32> = rows_v
            .into_iter()
            .flat_map(|mut r| {
                r.sort_unstable();
                r
            })
            .collect();
        MultiThreshold::new(out, Array2::from_shape_vec((rows_n, nt), flat).expect("shape")).expect("sorted")
    })
}

/// Typical |accumulator| for `cols` random products: where thresholds are worth placing.
pub fn typical_spread(cols: usize, w: WeightType, a: ActType) -> i32 {
    let unit = (w.max_abs() * a.max_abs()) as f64;
    ((cols as f64).sqrt() * unit).ceil().max(2.0) as i32
}

/// A matrix-vector layer: `out = None` is the logit layer (with bias).
pub fn matvec(
    in_type: ActType,
    w_type: WeightType,
    out: Option<ActType>,
    rows: usize,
    cols: usize,
) -> impl Strategy<Value = MatVec> {
    let spread = typical_spread(cols, w_type, in_type);
    let output = match out {
        Some(o) => thresholds(o, rows, spread).prop_map(OutputStage::Threshold).boxed(),
        None => proptest::collection::vec(-spread..=spread, rows).prop_map(OutputStage::Bias).boxed(),
    };
    (weights(w_type, rows, cols), output)
        .prop_map(move |(w, o)| MatVec::new(in_type, w_type, w, o).expect("valid by construction"))
}

/// Random small but complete models (quantizer, convs, pools, dense layers, logits), all bit widths.
pub fn model() -> impl Strategy<Value = Model> {
    (bits(), bits(), 1usize..=2, 5usize..=12, 5usize..=12, 0usize..=2, any::<bool>(), 0usize..=1)
        .prop_flat_map(|(wbits, abits, channels, h, w, n_conv, pool, n_hidden)| {
            model_with(wbits, abits, Shape::new(h, w, channels), n_conv, pool, n_hidden)
        })
}

fn model_with(
    wbits: u8,
    abits: u8,
    input: Shape,
    n_conv: usize,
    pool: bool,
    n_hidden: usize,
) -> BoxedStrategy<Model> {
    let a = ActType { bits: abits };
    let w = WeightType { bits: wbits };
    let mut shape = input;
    let mut layers: Vec<BoxedStrategy<Layer>> = vec![
        thresholds(a, input.channels, 128)
            .prop_map(|t| Layer { name: "quant".into(), op: Op::InputQuant(InputQuant::new(t)) })
            .boxed(),
    ];
    for i in 0..n_conv {
        let k = if shape.height >= 3 && shape.width >= 3 { 3 } else { 1 };
        let (cin, cout) = (shape.channels, 2 + i * 2);
        layers.push(
            matvec(a, w, Some(a), cout, k * k * cin)
                .prop_map(move |mv| Layer {
                    name: format!("conv{i}"),
                    op: Op::Conv(Conv::new(k, cin, mv).expect("valid by construction")),
                })
                .boxed(),
        );
        shape = Shape::new(shape.height - k + 1, shape.width - k + 1, cout);
    }
    if pool && shape.height >= 2 && shape.width >= 2 {
        layers.push(Just(Layer { name: "pool".into(), op: Op::MaxPool }).boxed());
        shape = Shape::new(shape.height / 2, shape.width / 2, shape.channels);
    }
    let mut features = shape.len();
    for i in 0..n_hidden {
        layers.push(
            matvec(a, w, Some(a), 8, features)
                .prop_map(move |mv| Layer { name: format!("fc{i}"), op: Op::Dense(Dense::new(mv)) })
                .boxed(),
        );
        features = 8;
    }
    layers.push(
        matvec(a, w, None, 2, features)
            .prop_map(|mv| Layer { name: "logits".into(), op: Op::Dense(Dense::new(mv)) })
            .boxed(),
    );
    layers
        .prop_map(move |layers| {
            Model::new("random", input, vec!["NORMAL".into(), "PNEUMONIA".into()], layers, Provenance::default())
                .expect("valid by construction")
        })
        .boxed()
}

/// Random CNV-like models (quantizer of 8 bits or of the activations' width, two convs each with an
/// optional max-pool, logits), with channel counts that are often multiples of 8 and 16, so that the
/// fused conv + pool kernels over byte-aligned pixels are reached, and often not.
pub fn cnv_model() -> impl Strategy<Value = Model> {
    let channels = || prop_oneof![Just(8usize), Just(16), Just(32), 1usize..=40];
    (bits(), bits(), any::<bool>(), 1usize..=2, 7usize..=16, 7usize..=16, channels(), channels(), 1usize..=3, any::<(bool, bool)>())
        .prop_flat_map(|(wbits, abits, q8, c0, h, w, c1, c2, k2, (pool1, pool2))| {
            let a = ActType { bits: abits };
            let q = if q8 { ActType::PIXEL } else { a };
            let wt = WeightType { bits: wbits };
            let input = Shape::new(h, w, c0);
            let mut shape = Shape::new(h - 2, w - 2, c1);
            let mut layers: Vec<BoxedStrategy<Layer>> = vec![
                thresholds(q, c0, 128).prop_map(|t| Layer { name: "quant".into(), op: Op::InputQuant(InputQuant::new(t)) }).boxed(),
                matvec(q, wt, Some(a), c1, 9 * c0)
                    .prop_map(move |mv| Layer { name: "conv0".into(), op: Op::Conv(Conv::new(3, c0, mv).expect("valid")) })
                    .boxed(),
            ];
            let pool = |layers: &mut Vec<BoxedStrategy<Layer>>, shape: &mut Shape, name: &str| {
                if shape.height >= 2 && shape.width >= 2 {
                    let name = name.to_string();
                    layers.push(Just(Layer { name, op: Op::MaxPool }).boxed());
                    *shape = Shape::new(shape.height / 2, shape.width / 2, shape.channels);
                }
            };
            if pool1 {
                pool(&mut layers, &mut shape, "pool0");
            }
            let k2 = k2.min(shape.height).min(shape.width);
            layers.push(
                matvec(a, wt, Some(a), c2, k2 * k2 * c1)
                    .prop_map(move |mv| Layer { name: "conv1".into(), op: Op::Conv(Conv::new(k2, c1, mv).expect("valid")) })
                    .boxed(),
            );
            shape = Shape::new(shape.height - k2 + 1, shape.width - k2 + 1, c2);
            if pool2 {
                pool(&mut layers, &mut shape, "pool1");
            }
            layers.push(
                matvec(a, wt, None, 2, shape.len())
                    .prop_map(|mv| Layer { name: "logits".into(), op: Op::Dense(Dense::new(mv)) })
                    .boxed(),
            );
            layers.prop_map(move |layers| {
                Model::new("random cnv", input, vec!["NORMAL".into(), "PNEUMONIA".into()], layers, Provenance::default())
                    .expect("valid by construction")
            })
        })
}

/// Pixels for a model's input.
pub fn image(shape: Shape) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), shape.len())
}

/// Number of proptest cases: `PROPTEST_CASES` if set, else `default`.
pub fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}
