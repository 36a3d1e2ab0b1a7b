//! One property-test case: the data a configuration is exercised with, its stall patterns and the
//! seed of the random initial register values. Everything needed to replay it exactly.

use super::stalls::StallSpec;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Case {
    /// Seed of Verilator's random generator: the `--x-initial unique` power-up values.
    pub seed: u64,
    pub stalls: StallSpec,
    pub data: Data,
}

/// Case data per module kind. Activations and weights are golden-model values (bipolar -1/+1,
/// unsigned, two's complement), not encodings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "module", rename_all = "snake_case")]
pub enum Data {
    Mvtu(MvtuData),
    /// Feature maps, HWC, `IFM_H * IFM_W * CHANNELS` values of `EBITS`-bit activations each.
    SlidingWindow { images: Vec<Vec<i32>> },
    Maxpool { images: Vec<Vec<i32>> },
    /// `thresholds[c]`: channel c's ascending thresholds; `pixels`: a multiple of LANES.
    InputQuant { thresholds: Vec<Vec<i32>>, pixels: Vec<u8> },
    /// Raw beats, 32-bit words least significant first.
    StreamFifo { beats: Vec<Vec<u32>> },
    /// Raw `EBITS`-bit elements, a whole number of beats on both sides.
    StreamWidthConverter { elements: Vec<u32> },
    /// Logits of each image.
    LabelSelect { logits: Vec<Vec<i32>> },
    /// A model file document (`qnn-model` JSON) and images (HWC pixels).
    Network { model: serde_json::Value, images: Vec<Vec<u8>> },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MvtuData {
    /// `[MH][MW]`
    pub weights: Vec<Vec<i8>>,
    pub output: MvOutput,
    /// Input vectors, `MW` values each, streamed back to back.
    pub vectors: Vec<Vec<i32>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MvOutput {
    /// `[MH][2^OBITS - 1]`, ascending per row.
    Thresholds(Vec<Vec<i32>>),
    /// `[MH]`, the logit layer.
    Bias(Vec<i32>),
}

impl Case {
    /// Short content hash: names the case's failure directory.
    pub fn id(&self) -> String {
        use sha2::{Digest, Sha256};
        let json = serde_json::to_vec(self).expect("a case serializes");
        hex::encode(Sha256::digest(json))[..12].to_string()
    }

    /// Vectors, images or beats the case streams: for the report.
    pub fn describe(&self) -> String {
        match &self.data {
            Data::Mvtu(d) => format!("{} input vectors", d.vectors.len()),
            Data::SlidingWindow { images } | Data::Maxpool { images } => format!("{} feature maps", images.len()),
            Data::InputQuant { pixels, .. } => format!("{} pixels", pixels.len()),
            Data::StreamFifo { beats } => format!("{} beats", beats.len()),
            Data::StreamWidthConverter { elements } => format!("{} elements", elements.len()),
            Data::LabelSelect { logits } => format!("{} logit vectors", logits.len()),
            Data::Network { images, .. } => format!("{} images", images.len()),
        }
    }
}
