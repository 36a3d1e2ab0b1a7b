//! End-to-end verification: test images through the whole accelerator's RTL, every label and logit
//! compared with the golden model, hardware metrics computed from the RTL's own outputs.

use crate::cosim::{self, RtlImage};
use rtlgen::Accelerator;
use anyhow::Result;
use golden_model::Model;
use golden_model::metrics::{self, BinaryMetrics};
use std::time::Instant;

/// Cycles without progress before a run is declared stuck.
pub const WATCHDOG: u64 = 1_000_000;

#[derive(Clone, Debug)]
pub struct Mismatch {
    pub image: String,
    pub rtl_label: usize,
    pub rtl_logits: Vec<i32>,
    pub golden_label: usize,
    pub golden_logits: Vec<i32>,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: RTL label {} logits {:?}, golden label {} logits {:?}",
            self.image, self.rtl_label, self.rtl_logits, self.golden_label, self.golden_logits
        )
    }
}

pub struct RtlEvaluation {
    pub images: Vec<RtlImage>,
    pub mismatches: Vec<Mismatch>,
    /// Metrics of the RTL's labels and logit margins.
    pub metrics: BinaryMetrics,
    /// Cycles of the whole run (reset excluded) and its wall time.
    pub cycles: u64,
    pub seconds: f64,
}

/// Streams `samples` back to back through a fresh simulation (seed `seed`: x-initial values of a
/// `--x-initial unique` build) and compares every output with the golden model.
pub fn evaluate_rtl(acc: &Accelerator, lib: &sim::Library, model: &Model, samples: &[dataset::Sample], seed: u64) -> Result<RtlEvaluation> {
    let started = Instant::now();
    let mut sim = cosim::new_sim(lib, acc, seed, None)?;
    let start_cycle = sim.cycle();
    let pixels: Vec<&[u8]> = samples.iter().map(|s| s.pixels.as_slice()).collect();
    let images = cosim::run_images(&mut sim, acc, &pixels, &sim::Stalls::none(), WATCHDOG)?;
    let cycles = sim.cycle() - start_cycle;
    sim.close()?;
    let seconds = started.elapsed().as_secs_f64();
    let mut mismatches = vec![];
    let golden = model.infer_batch(&pixels).map_err(|(i, e)| anyhow::anyhow!("{}: {e}", samples[i].path.display()))?;
    for ((s, r), g) in samples.iter().zip(&images).zip(golden) {
        if g.label != r.label || g.logits != r.logits {
            mismatches.push(Mismatch {
                image: s.path.display().to_string(),
                rtl_label: r.label,
                rtl_logits: r.logits.clone(),
                golden_label: g.label,
                golden_logits: g.logits,
            });
        }
    }
    let labels: Vec<u8> = samples.iter().map(|s| s.label).collect();
    let predicted: Vec<u8> = images.iter().map(|r| r.label as u8).collect();
    let scores: Vec<i64> = images.iter().map(|r| r.logits[1] as i64 - r.logits[0] as i64).collect();
    let metrics = metrics::binary_metrics(&labels, &predicted, &scores)?;
    Ok(RtlEvaluation { images, mismatches, metrics, cycles, seconds })
}
