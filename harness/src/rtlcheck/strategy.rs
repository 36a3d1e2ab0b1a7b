//! Proptest strategies for the cases of a configuration: data that fits its structure, stall
//! patterns and the x-initial seed. Everything shrinks: fewer vectors/images, smaller values,
//! fewer stalls.

use super::case::{Case, Data, MvOutput, MvtuData};
use super::config::{Config, Dut, Mvtu};
use super::network::PlannedOp;
use super::stalls::StallSpec;
use golden_model::ops::{Conv, Dense, InputQuant, MatVec, MultiThreshold, OutputStage};
use golden_model::testing;
use golden_model::{ActType, Layer, Model, Op, Provenance, WeightType};
use proptest::prelude::*;
use proptest::collection::vec;

/// Stall flags of one side: none at all, a few sparse stalls, or heavy backpressure.
fn stall_flags() -> BoxedStrategy<Vec<bool>> {
    prop_oneof![
        2 => Just(vec![]),
        3 => vec(proptest::bool::weighted(0.3), 1..12),
        2 => vec(proptest::bool::weighted(0.8), 1..24),
    ]
    .boxed()
}

pub fn stalls() -> BoxedStrategy<StallSpec> {
    (stall_flags(), stall_flags()).prop_map(|(i, o)| StallSpec::from_stall_flags(&i, &o)).boxed()
}

fn weight_rows(t: WeightType, rows: usize, cols: usize) -> BoxedStrategy<Vec<Vec<i8>>> {
    testing::weights(t, rows, cols).prop_map(|w| w.outer_iter().map(|r| r.to_vec()).collect()).boxed()
}

fn threshold_rows(out: ActType, rows: usize, spread: i32) -> BoxedStrategy<Vec<Vec<i32>>> {
    testing::thresholds(out, rows, spread).prop_map(|t| t.thresholds().outer_iter().map(|r| r.to_vec()).collect()).boxed()
}

fn biases(range: super::config::BiasRange, rows: usize) -> BoxedStrategy<Vec<i32>> {
    let hi = range.hi;
    vec(prop_oneof![3 => -8.min(hi)..=8.min(hi), 1 => -hi..=hi], rows)
        .prop_map(move |mut b| {
            range.pin(&mut b);
            b
        })
        .boxed()
}

fn mvtu(m: Mvtu, items: std::ops::RangeInclusive<usize>) -> BoxedStrategy<Data> {
    let output = match m.out_type() {
        Some(o) => threshold_rows(o, m.mh, super::config::spread(m.mw, m.weight_type(), m.in_type()))
            .prop_map(MvOutput::Thresholds)
            .boxed(),
        None => biases(m.bias_range(), m.mh).prop_map(MvOutput::Bias).boxed(),
    };
    // Whole groups of MMV vectors, so that shrinking keeps a whole number of beats.
    let groups = vec(vec(testing::activations(m.in_type(), m.mw), m.mmv), items);
    (weight_rows(m.weight_type(), m.mh, m.mw), output, groups)
        .prop_map(|(weights, output, groups)| Data::Mvtu(MvtuData { weights, output, vectors: groups.concat() }))
        .boxed()
}

/// Input-quantizer thresholds of one channel: ascending, mostly in 0..=256 (256 never fires),
/// a few below 0 (always fires).
fn pixel_thresholds(nt: usize) -> BoxedStrategy<Vec<i32>> {
    vec(prop_oneof![8 => 0..=256i32, 1 => -3..=0i32, 1 => 250..=256i32], nt)
        .prop_map(|mut v| {
            v.sort_unstable();
            v
        })
        .boxed()
}

/// Pixels, half of them on or next to a threshold of their channel (where `>=` vs `>` and
/// off-by-one compares differ).
fn pixels(thresholds: Vec<Vec<i32>>, lanes: usize, items: std::ops::RangeInclusive<usize>) -> BoxedStrategy<Vec<u8>> {
    let channels = thresholds.len();
    vec(vec((any::<u8>(), any::<bool>(), any::<prop::sample::Index>(), -1..=1i32), lanes), items)
        .prop_map(move |beats| {
            let mut out = vec![];
            for beat in beats {
                for (p, near, idx, d) in beat {
                    let t = &thresholds[out.len() % channels];
                    out.push(if near && !t.is_empty() { (t[idx.index(t.len())] + d).clamp(0, 255) as u8 } else { p });
                }
            }
            out
        })
        .boxed()
}

fn model(net: &super::config::Network) -> BoxedStrategy<serde_json::Value> {
    let planned = net.plan_layers().expect("configurations plan");
    let input = net.input;
    let mut layers: Vec<BoxedStrategy<Layer>> = vec![];
    let mut classes = 2;
    for p in planned {
        let name = p.name.clone();
        let s = match p.op {
            PlannedOp::Quant { out, channels } => vec(pixel_thresholds(out.num_thresholds()), channels)
                .prop_map(move |rows| {
                    let nt = out.num_thresholds();
                    let t = ndarray::Array2::from_shape_vec((rows.len(), nt), rows.concat()).expect("shape");
                    Layer { name: name.clone(), op: Op::InputQuant(InputQuant::new(MultiThreshold::new(out, t).expect("sorted"))) }
                })
                .boxed(),
            PlannedOp::Maxpool => Just(Layer { name, op: Op::MaxPool }).boxed(),
            PlannedOp::MatVec { kernel, in_channels, in_type, weight, out, rows, cols, spread, bias } => {
                let output = match (out, bias) {
                    (Some(o), _) => testing::thresholds(o, rows, spread).prop_map(OutputStage::Threshold).boxed(),
                    (None, Some(range)) => biases(range, rows).prop_map(OutputStage::Bias).boxed(),
                    (None, None) => unreachable!("a logit layer has a bias range"),
                };
                if out.is_none() {
                    classes = rows;
                }
                (testing::weights(weight, rows, cols), output)
                    .prop_map(move |(w, o)| {
                        let mv = MatVec::new(in_type, weight, w, o).expect("valid by construction");
                        let op = match kernel {
                            Some(k) => Op::Conv(Conv::new(k, in_channels, mv).expect("valid by construction")),
                            None => Op::Dense(Dense::new(mv)),
                        };
                        Layer { name: name.clone(), op }
                    })
                    .boxed()
            }
        };
        layers.push(s);
    }
    let names: Vec<String> = (0..classes).map(|c| format!("class{c}")).collect();
    layers
        .prop_map(move |layers| {
            let m = Model::new("rtlcheck", input, names.clone(), layers, Provenance::default()).expect("valid by construction");
            serde_json::from_str(&m.to_json()).expect("a model serializes")
        })
        .boxed()
}

/// Feature maps of `len` `ebits`-bit activations (window and pool cases).
fn maps(ebits: u8, len: usize, items: std::ops::RangeInclusive<usize>) -> BoxedStrategy<Vec<Vec<i32>>> {
    vec(testing::activations(ActType { bits: ebits }, len), items).boxed()
}

/// Case data for `config`.
pub fn data(config: &Config) -> BoxedStrategy<Data> {
    let items = config.items();
    match &config.dut {
        Dut::Mvtu(m) => mvtu(*m, items),
        Dut::SlidingWindow(w) => maps(w.ebits, w.ifm_h * w.ifm_w * w.channels, items).prop_map(|images| Data::SlidingWindow { images }).boxed(),
        Dut::SlidingWindowPar(w) => maps(w.ebits, w.ifm_h * w.ifm_w * w.channels, items).prop_map(|images| Data::SlidingWindow { images }).boxed(),
        Dut::Maxpool(p) => maps(p.ebits, p.ifm_h * p.ifm_w * p.channels, items).prop_map(|images| Data::Maxpool { images }).boxed(),
        Dut::MaxpoolPar(p) => maps(p.ebits, p.ifm_h * p.ifm_w * p.channels, items).prop_map(|images| Data::Maxpool { images }).boxed(),
        Dut::InputQuant(q) => {
            let (lanes, nt) = (q.lanes, q.out_type().num_thresholds());
            let per_beat = lanes;
            vec(pixel_thresholds(nt), q.channels)
                .prop_flat_map(move |t| (Just(t.clone()), pixels(t, per_beat, items.clone())))
                .prop_map(|(thresholds, pixels)| Data::InputQuant { thresholds, pixels })
                .boxed()
        }
        Dut::StreamFifo(f) => {
            let width = f.width;
            let words = width.div_ceil(32);
            vec(vec(any::<u32>(), words), items)
                .prop_map(move |mut beats| {
                    if width % 32 != 0 {
                        for b in &mut beats {
                            b[words - 1] &= (1u32 << (width % 32)) - 1;
                        }
                    }
                    Data::StreamFifo { beats }
                })
                .boxed()
        }
        Dut::StreamWidthConverter(d) => {
            let (unit, max) = (d.unit(), (1u64 << d.ebits) - 1);
            vec(vec(0..=max as u32, unit), items)
                .prop_map(|units| Data::StreamWidthConverter { elements: units.concat() })
                .boxed()
        }
        Dut::LabelSelect(l) => {
            let hi = (1i64 << (l.acc_bits - 1)) as i32 - 1;
            let lo = -hi - 1;
            // Narrow values make ties (the lowest index must win) and equal maxima common.
            vec(vec(prop_oneof![2 => -3..=3i32, 1 => lo..=hi], l.classes), items)
                .prop_map(|logits| Data::LabelSelect { logits })
                .boxed()
        }
        Dut::Network(n) => {
            let shape = n.input;
            (model(n), vec(testing::image(shape), items)).prop_map(|(model, images)| Data::Network { model, images }).boxed()
        }
    }
}

/// A whole case: seed of the random initial state, stalls, data.
pub fn case(config: &Config) -> BoxedStrategy<Case> {
    (any::<u64>(), stalls(), data(config)).prop_map(|(seed, stalls, data)| Case { seed, stalls, data }).boxed()
}
