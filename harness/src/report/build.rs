//! Measuring a model's accelerator: golden and RTL accuracy on the test split, latency and II from
//! simulation of the whole pipeline, per-layer cycles from each layer simulated alone, resources from
//! Yosys. Deterministic for the same inputs and seed (only `provenance.date` changes).

use super::provenance;
use super::*;
use crate::cosim::{self, BuildMode, RtlImage};
use rtlgen::Limits;
use crate::synth::{self, Counts, SynthOptions};
use anyhow::{Context, Result};
use golden_model::metrics;
use std::path::PathBuf;

#[derive(Clone, Debug)]
pub struct BuildOptions {
    /// Model file; `None` = the default model.
    pub model: Option<PathBuf>,
    /// Data root (default: the vendored copy).
    pub data: Option<PathBuf>,
    /// Explicit folding file, or automatic folding with these limits / target II.
    pub folding: Option<PathBuf>,
    pub limits: Limits,
    pub target_ii: Option<u64>,
    pub clock_mhz: f64,
    /// Simulation seed.
    pub seed: u64,
    /// Skip Yosys (resources then hold only the analytical estimates); for quick sweeps.
    pub skip_synth: bool,
    /// Which Yosys and DSP mapping synthesize.
    pub synth: SynthOptions,
    /// Run only the first N test images through the RTL (None = all 624).
    pub rtl_images: Option<usize>,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            model: None,
            data: None,
            folding: None,
            limits: Limits::default(),
            target_ii: None,
            clock_mhz: 200.0,
            seed: 1,
            skip_synth: false,
            synth: SynthOptions::default(),
            rtl_images: None,
        }
    }
}

/// Images the per-layer timing runs stream back to back (the last interval is steady state).
const LAYER_TIMING_IMAGES: usize = 3;

fn round(v: f64, digits: i32) -> f64 {
    let k = 10f64.powi(digits);
    (v * k).round() / k
}

/// Builds, simulates and synthesizes; `progress` receives one line per long step.
pub fn build(opts: &BuildOptions, progress: &mut dyn FnMut(&str)) -> Result<Report> {
    let root = crate::paths::workspace_root();
    let model_path = opts.model.clone().unwrap_or_else(crate::paths::default_model);
    let model = crate::paths::load_model(opts.model.as_deref())?;
    let folding = crate::accel::folding(&model, opts.folding.as_deref(), opts.target_ii, opts.limits, progress)?;
    let data = opts.data.clone().unwrap_or_else(dataset::default_root);
    let test = dataset::Dataset::load(&data, dataset::Split::Test, model.input_shape().height)
        .with_context(|| format!("loading the test split from {}", data.display()))?;
    progress(&format!("model `{}`: golden model on {} test images", model.name(), test.samples.len()));
    let labelled: Vec<(&[u8], u8)> = test.samples.iter().map(|s| (s.pixels.as_slice(), s.label)).collect();
    let golden = metrics::predict(&model, &labelled)?;

    let acc = crate::accel::prepare(&model, &folding)?;
    progress(&format!("accelerator generated in {}; building the simulator", acc.dir.display()));
    let lib = cosim::library(&acc, BuildMode::VERIFY)?;
    let verilator = lib.verilator().describe();
    let n_rtl = opts.rtl_images.unwrap_or(test.samples.len()).min(test.samples.len());
    progress(&format!("RTL simulation of {n_rtl} images ({verilator})"));
    let ev = crate::verify::evaluate_rtl(&acc, &lib, &model, &test.samples[..n_rtl], opts.seed, crate::verify::default_jobs())?;
    let rtl = &ev.images;
    let images: Vec<&[u8]> = test.samples[..n_rtl].iter().map(|s| s.pixels.as_slice()).collect();

    // Steady state: the median spacing of output beats over the second half of each simulator
    // instance's run.
    let mut gaps: Vec<u64> = vec![];
    for k in 0..=ev.instance.last().copied().unwrap_or(0) {
        let run: Vec<&RtlImage> = rtl.iter().zip(&ev.instance).filter(|(_, i)| **i == k).map(|(r, _)| r).collect();
        gaps.extend(run.windows(2).skip(run.len() / 2).map(|w| w[1].output_cycle - w[0].output_cycle));
    }
    gaps.sort_unstable();
    let ii_cycles = gaps.get(gaps.len() / 2).copied().unwrap_or(rtl[0].latency());
    let latency_cycles = rtl[0].latency();

    progress("per-layer timing: each layer simulated alone");
    let timing_images = &images[..LAYER_TIMING_IMAGES.min(images.len())];
    let mut layers = vec![];
    for t in &acc.layer_tops {
        let lib = cosim::layer_library(&acc, t, BuildMode::FAST)?;
        let run = cosim::run_layer(&acc, &model, t, &lib, timing_images, opts.seed)?;
        if run.outputs != run.expected {
            progress(&format!("warning: layer {} alone differs from the golden model", t.name));
        }
        layers.push(LayerLatency {
            name: t.name.clone(),
            cycles_measured: run.cycles_per_image.unwrap_or(0),
            cycles_estimated: acc.layers[t.layer].cycles,
        });
    }

    let resources = if opts.skip_synth {
        progress("synthesis skipped (--skip-synth): resources hold the analytical estimates only");
        ResourceReport {
            synthesized: false,
            tool: "none (synthesis skipped)".into(),
            synth: None,
            device: synth::DEVICE.into(),
            total: Counts::default(),
            utilization_pct: synth::Utilization::of(&Counts::default()),
            layers: acc
                .layers
                .iter()
                .map(|l| LayerResources { name: l.name.clone(), measured: Counts::default(), estimated: l.resources })
                .collect(),
            critical_path_estimate_ns: None,
            critical_path_note: "not run".into(),
        }
    } else {
        let s = synth::synthesize(&acc, &opts.synth, progress)?;
        ResourceReport {
            synthesized: true,
            tool: s.tool,
            synth: Some(s.synth),
            device: s.device,
            total: s.total,
            utilization_pct: s.utilization_pct,
            layers: acc
                .layers
                .iter()
                .zip(&s.layers)
                .map(|(e, m)| LayerResources { name: e.name.clone(), measured: m.counts, estimated: e.resources })
                .collect(),
            critical_path_estimate_ns: s.critical_path_estimate_ns,
            critical_path_note: "estimate: Yosys `sta` after abc9 with 7-series delays; no timing arcs for CARRY, MUXF or \
                                 RAM cells; not a Vivado timing figure"
                .into(),
        }
    };

    let (git_commit, git_dirty) = provenance::git_state(&root);
    let fps = opts.clock_mhz * 1e6 / ii_cycles as f64;
    Ok(Report {
        schema: SCHEMA.into(),
        model: provenance::model_info(&model, &std::path::absolute(&model_path)?, &root),
        accuracy: Accuracy {
            split: "test".into(),
            golden: golden.metrics()?,
            rtl: RtlAccuracy {
                metrics: ev.metrics.clone(),
                mismatches: ev.mismatches.len() as u64,
                mismatched_images: ev.mismatches.iter().take(20).map(|m| m.image.clone()).collect(),
            },
        },
        latency: Latency {
            clock_mhz: opts.clock_mhz,
            latency_cycles,
            ii_cycles,
            fps: round(fps, 3),
            latency_us: round(latency_cycles as f64 / opts.clock_mhz, 3),
            ii_estimated: acc.ii_estimate,
            latency_estimated: acc.latency_estimate,
            layers,
        },
        resources,
        folding,
        provenance: ReportProvenance {
            git_commit,
            git_dirty,
            model_hash: model.content_hash(),
            tools: provenance::tools(verilator, (!opts.skip_synth).then_some(opts.synth.synthesizer)),
            seed: opts.seed,
            date: provenance::now_rfc3339(),
        },
    })
}
