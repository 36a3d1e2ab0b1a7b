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
    /// Index of the simulator instance that ran each image (cycles compare only within one).
    pub instance: Vec<usize>,
    /// The golden model's output for each image.
    pub golden: Vec<golden_model::Inference>,
    pub mismatches: Vec<Mismatch>,
    /// Metrics of the RTL's labels and logit margins.
    pub metrics: BinaryMetrics,
    /// Cycles of the whole run, summed over instances (reset excluded), and its wall time.
    pub cycles: u64,
    pub seconds: f64,
}

/// Simulator instances to run side by side by default: one per core.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Streams `samples` through `jobs` fresh simulations side by side (each takes a contiguous share,
/// back to back; seed `seed`: x-initial values of a `--x-initial unique` build) and compares every
/// output with the golden model (a batch on all cores). Labels, logits and mismatches do not
/// depend on `jobs`.
pub fn evaluate_rtl(
    acc: &Accelerator,
    lib: &sim::Library,
    model: &Model,
    samples: &[dataset::Sample],
    seed: u64,
    jobs: usize,
) -> Result<RtlEvaluation> {
    anyhow::ensure!(jobs >= 1, "jobs = 0: at least one simulator instance is needed");
    anyhow::ensure!(!samples.is_empty(), "no images to run through the RTL");
    let started = Instant::now();
    let chunk = samples.len().div_ceil(jobs.min(samples.len()));
    let parts: Vec<Result<(Vec<RtlImage>, u64)>> = std::thread::scope(|scope| {
        let workers: Vec<_> = samples
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || -> Result<_> {
                    let mut sim = cosim::new_sim(lib, acc, seed, None)?;
                    let start_cycle = sim.cycle();
                    let pixels: Vec<&[u8]> = part.iter().map(|s| s.pixels.as_slice()).collect();
                    let images = cosim::run_images(&mut sim, acc, &pixels, &sim::Stalls::none(), WATCHDOG)?;
                    let cycles = sim.cycle() - start_cycle;
                    sim.close()?;
                    Ok((images, cycles))
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().expect("a simulation thread panicked")).collect()
    });
    let (mut images, mut instance, mut cycles) = (vec![], vec![], 0);
    for (k, part) in parts.into_iter().enumerate() {
        let (im, c) = part?;
        instance.extend(std::iter::repeat_n(k, im.len()));
        images.extend(im);
        cycles += c;
    }
    let pixels: Vec<&[u8]> = samples.iter().map(|s| s.pixels.as_slice()).collect();
    let golden = model.infer_batch(&pixels).map_err(|(i, e)| anyhow::anyhow!("{}: {e}", samples[i].path.display()))?;
    let seconds = started.elapsed().as_secs_f64();
    let mut mismatches = vec![];
    for ((s, r), g) in samples.iter().zip(&images).zip(&golden) {
        if g.label != r.label || g.logits != r.logits {
            mismatches.push(Mismatch {
                image: s.path.display().to_string(),
                rtl_label: r.label,
                rtl_logits: r.logits.clone(),
                golden_label: g.label,
                golden_logits: g.logits.clone(),
            });
        }
    }
    let labels: Vec<u8> = samples.iter().map(|s| s.label).collect();
    let predicted: Vec<u8> = images.iter().map(|r| r.label as u8).collect();
    let scores: Vec<i64> = images.iter().map(|r| r.logits[1] as i64 - r.logits[0] as i64).collect();
    let metrics = metrics::binary_metrics(&labels, &predicted, &scores)?;
    Ok(RtlEvaluation { images, instance, golden, mismatches, metrics, cycles, seconds })
}
