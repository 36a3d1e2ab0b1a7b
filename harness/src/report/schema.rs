//! `report.json`: what `cargo xtask report` measures about one model's accelerator. Everything in it
//! is deterministic for the same inputs and seed except `provenance.date`, so reports can be compared
//! byte for byte and gated field by field.

use rtlgen::{Folding, Resources};
use crate::synth::{Counts, SynthOptions, Utilization};
use golden_model::metrics::BinaryMetrics;
use serde::{Deserialize, Serialize};

pub const SCHEMA: &str = "qnn-report/1";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema: String,
    pub model: ModelInfo,
    pub accuracy: Accuracy,
    pub latency: Latency,
    pub resources: ResourceReport,
    pub folding: Folding,
    pub provenance: ReportProvenance,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    pub name: String,
    /// Path as given (relative to the workspace root when inside it).
    pub file: String,
    pub hash: String,
    /// e.g. "cnv", from the model's provenance when known.
    pub arch: Option<String>,
    /// Bit widths: weights (all layers), hidden activations, input quantizer output.
    pub wbits: u8,
    pub abits: u8,
    pub in_bits: u8,
    pub layers: Vec<String>,
    pub parameters: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Accuracy {
    /// Split the figures are on ("test": the official 624 images).
    pub split: String,
    pub golden: BinaryMetrics,
    pub rtl: RtlAccuracy,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RtlAccuracy {
    #[serde(flatten)]
    pub metrics: BinaryMetrics,
    /// Images whose RTL output (label or any logit) differs from the golden model.
    pub mismatches: u64,
    /// Up to 20 of them, by file path.
    pub mismatched_images: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    pub clock_mhz: f64,
    /// First input beat to last output beat of one image, measured in an otherwise idle pipeline.
    pub latency_cycles: u64,
    /// Measured cycles between consecutive images' output beats in steady state.
    pub ii_cycles: u64,
    /// Images per second at `clock_mhz` and `ii_cycles`.
    pub fps: f64,
    pub latency_us: f64,
    /// Estimated II from the folding (slowest stage).
    pub ii_estimated: u64,
    /// Estimated latency from the folding (stage by stage through an idle pipeline).
    #[serde(default)]
    pub latency_estimated: u64,
    pub layers: Vec<LayerLatency>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerLatency {
    pub name: String,
    /// Cycles the layer's stages take per image when simulated alone at full rate.
    pub cycles_measured: u64,
    pub cycles_estimated: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResourceReport {
    /// False when synthesis was skipped: `total` and per-layer `measured` are then zero and only
    /// the analytical estimates are filled in.
    pub synthesized: bool,
    /// Exact Yosys version and command.
    pub tool: String,
    /// Synthesizer and DSP mapping that made the counts (absent in reports made before there
    /// was a choice, which all used Debian's Yosys 0.23 with its own DSP mapping).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synth: Option<SynthOptions>,
    pub device: String,
    pub total: Counts,
    pub utilization_pct: Utilization,
    pub layers: Vec<LayerResources>,
    /// Yosys `sta` longest path: 7-series delays, no timing arcs for CARRY/MUXF/RAM cells.
    pub critical_path_estimate_ns: Option<f64>,
    pub critical_path_note: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerResources {
    pub name: String,
    /// Yosys cell counts of the layer's stages.
    pub measured: Counts,
    /// The generator's analytical estimate for the same folding.
    pub estimated: Resources,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReportProvenance {
    pub git_commit: String,
    /// True when the working tree had uncommitted changes.
    pub git_dirty: bool,
    pub model_hash: String,
    pub tools: Tools,
    /// Seed of the simulation (x-initial randomisation, stall patterns).
    pub seed: u64,
    /// Only non-deterministic field: when the report was made (RFC 3339, UTC).
    pub date: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Tools {
    pub verilator: String,
    pub yosys: String,
    pub rustc: String,
}
