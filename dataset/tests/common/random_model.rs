//! A small random w1a1 model for the chest X-ray input (size x size x 1): bipolar input quantizer at
//! 128, two 2x2 max-pools, a bipolar dense logit layer. Stands in for a trained model in tests.

use golden_model::ops::{Dense, InputQuant, MatVec, MultiThreshold, OutputStage};
use golden_model::{ActType, Layer, Model, Op, Shape, WeightType};

pub fn random_model(size: usize, seed: u64) -> Model {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let bipolar = ActType { bits: 1 };
    let quant = MultiThreshold::new(bipolar, ndarray::Array2::from_elem((1, 1), 128)).expect("one threshold");
    let features = (size / 4) * (size / 4);
    let weights = ndarray::Array2::from_shape_fn((2, features), |_| if next() & 1 == 1 { 1i8 } else { -1 });
    let bias = vec![(next() % 21) as i32 - 10, (next() % 21) as i32 - 10];
    let dense = MatVec::new(bipolar, WeightType { bits: 1 }, weights, OutputStage::Bias(bias)).expect("valid dense");
    let layers = vec![
        Layer {
            name: "quant".into(),
            op: Op::InputQuant(InputQuant::new(quant)),
        },
        Layer {
            name: "pool1".into(),
            op: Op::MaxPool,
        },
        Layer {
            name: "pool2".into(),
            op: Op::MaxPool,
        },
        Layer {
            name: "logits".into(),
            op: Op::Dense(Dense::new(dense)),
        },
    ];
    let classes = vec!["NORMAL".to_string(), "PNEUMONIA".to_string()];
    Model::new(
        format!("random-w1a1-seed{seed}"),
        Shape::new(size, size, 1),
        classes,
        layers,
        Default::default(),
    )
    .expect("valid model")
}
