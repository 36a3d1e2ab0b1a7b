//! One job's result, `<out>/jobs/<job-id>.json`: the figures a sweep compares, plus the whole report.

use super::plan::Job;
use crate::report::Report;
use crate::report::render::bram36_equiv;
use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub const JOB_SCHEMA: &str = "qnn-sweep-job/1";

/// The figures of one job, as the sweep tables and plots use them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobSummary {
    pub id: String,
    pub job: Job,
    pub epochs: usize,
    pub model_file: String,
    pub model_hash: String,
    /// Golden-model metrics on the whole test split.
    pub accuracy: f64,
    pub balanced_accuracy: Option<f64>,
    pub auc: Option<f64>,
    /// RTL accuracy over `rtl_images` test images, and how many of them differ from the golden model.
    pub accuracy_rtl: f64,
    pub rtl_images: u64,
    pub mismatches: u64,
    /// Whether LUT/FF/BRAM/DSP are Yosys counts; `false`: the generator's estimates (synthesis skipped).
    #[serde(default = "yes")]
    pub synthesized: bool,
    pub lut: u64,
    pub ff: u64,
    /// RAMB36 units: `bram36 + bram18 / 2`.
    pub bram36: f64,
    pub dsp: u64,
    pub latency_cycles: u64,
    pub ii_cycles: u64,
    pub fps: f64,
    pub clock_mhz: f64,
}

/// `(synthesized, LUT, FF, RAMB36 units, DSP)` of a report: Yosys totals, or without synthesis (whose
/// totals are zero) the sum of the layers' estimates.
fn resources(r: &Report) -> (bool, u64, u64, f64, u64) {
    if r.resources.synthesized {
        let t = &r.resources.total;
        return (true, t.lut, t.ff, bram36_equiv(t), t.dsp);
    }
    let mut e = rtlgen::Resources::default();
    for l in &r.resources.layers {
        e += l.estimated;
    }
    (false, e.lut, e.ff, e.bram18 as f64 / 2.0, e.dsp)
}

fn yes() -> bool {
    true
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobResult {
    pub schema: String,
    pub summary: JobSummary,
    pub report: Report,
}

impl JobResult {
    pub fn new(job: &Job, epochs: usize, report: Report) -> JobResult {
        let r = &report;
        let (synthesized, lut, ff, bram36, dsp) = resources(r);
        let summary = JobSummary {
            id: job.id(),
            job: job.clone(),
            epochs,
            model_file: r.model.file.clone(),
            model_hash: r.model.hash.clone(),
            accuracy: r.accuracy.golden.accuracy,
            balanced_accuracy: r.accuracy.golden.balanced_accuracy,
            auc: r.accuracy.golden.auc,
            accuracy_rtl: r.accuracy.rtl.metrics.accuracy,
            rtl_images: r.accuracy.rtl.metrics.n,
            mismatches: r.accuracy.rtl.mismatches,
            synthesized,
            lut,
            ff,
            bram36,
            dsp,
            latency_cycles: r.latency.latency_cycles,
            ii_cycles: r.latency.ii_cycles,
            fps: r.latency.fps,
            clock_mhz: r.latency.clock_mhz,
        };
        JobResult { schema: JOB_SCHEMA.into(), summary, report }
    }

    /// Writes atomically to `job_path(out, id)`.
    pub fn write(&self, out: &Path) -> Result<PathBuf> {
        let p = job_path(out, &self.summary.id);
        let mut text = serde_json::to_string_pretty(self)?;
        text.push('\n');
        golden_model::io::write_atomic(&p, text.as_bytes()).with_context(|| format!("cannot write {}", p.display()))?;
        Ok(p)
    }

    pub fn read(path: &Path) -> Result<JobResult> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("cannot read job result {}", path.display()))?;
        let mut r: JobResult = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a valid job result; delete it and rerun its shard", path.display()))?;
        if r.schema != JOB_SCHEMA {
            bail!(
                "{} has schema `{}`, expected `{JOB_SCHEMA}`; delete it and rerun its shard",
                path.display(),
                r.schema
            );
        }
        // Resources are derived from the report: recompute them, so results written by an older
        // harness (estimates of unsynthesized jobs were left as zeros) read the way this one writes.
        (r.summary.synthesized, r.summary.lut, r.summary.ff, r.summary.bram36, r.summary.dsp) = resources(&r.report);
        Ok(r)
    }
}

pub fn jobs_dir(out: &Path) -> PathBuf {
    out.join("jobs")
}

pub fn job_path(out: &Path, id: &str) -> PathBuf {
    jobs_dir(out).join(format!("{id}.json"))
}
