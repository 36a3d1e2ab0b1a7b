//! Running a sweep's jobs (all, or one shard): train or reuse each model, build its report, write
//! the job's result. A failing job does not stop the others; the run fails at the end, naming them.

use super::cache::{self, LazyData};
use super::plan::{Job, Plan, Shard};
use super::result::JobResult;
use crate::report::{self, BuildOptions, Report};
use anyhow::{Result, bail};
use std::path::PathBuf;

pub struct RunOptions {
    pub out: PathBuf,
    /// Data root for training (default: the vendored copy); also passed to report building.
    pub data: Option<PathBuf>,
    /// Template of every job's report build; `model` and `seed` are set per job (the simulation
    /// seed is the job's training seed).
    pub build: BuildOptions,
}

/// How a job's report is made; [`report::build`] in real runs.
pub type Builder<'a> = dyn FnMut(&BuildOptions, &mut dyn FnMut(&str)) -> Result<Report> + 'a;

#[derive(Debug, Default)]
pub struct ShardOutcome {
    /// Job ids whose results were written.
    pub done: Vec<String>,
    /// Job ids whose models were reused from the cache.
    pub reused: Vec<String>,
}

/// Runs the jobs of `shard` (every job when `None`) in plan order with [`report::build`].
pub fn run(
    plan: &Plan,
    shard: Option<Shard>,
    opts: &RunOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<ShardOutcome> {
    run_with(plan, shard, opts, &mut report::build, progress)
}

/// As [`run`], with the report builder given (tests substitute a fast one).
pub fn run_with(
    plan: &Plan,
    shard: Option<Shard>,
    opts: &RunOptions,
    builder: &mut Builder,
    progress: &mut dyn FnMut(&str),
) -> Result<ShardOutcome> {
    let all = plan.jobs();
    let mine: Vec<&Job> = match shard {
        Some(s) => s.select(&all),
        None => all.iter().collect(),
    };
    let scope = shard.map_or_else(|| "all jobs".to_string(), |s| format!("shard {s}"));
    progress(&format!("sweep: {} of {} jobs ({scope}), results in {}", mine.len(), all.len(), opts.out.display()));
    let mut data = LazyData::new(opts.data.clone().unwrap_or_else(dataset::default_root));
    let mut outcome = ShardOutcome::default();
    let mut failed: Vec<(String, String)> = vec![];
    for (k, job) in mine.iter().enumerate() {
        let id = job.id();
        progress(&format!("[{}/{}] {id}", k + 1, mine.len()));
        let mut step = |line: &str| progress(&format!("  {id}: {line}"));
        match run_job(job, plan, opts, &mut data, builder, &mut step) {
            Ok(reused) => {
                if reused {
                    outcome.reused.push(id.clone());
                }
                outcome.done.push(id);
            }
            Err(e) => {
                progress(&format!("  {id}: FAILED: {e:#}"));
                failed.push((id, format!("{e:#}")));
            }
        }
    }
    if !failed.is_empty() {
        let list: Vec<String> = failed.iter().map(|(id, e)| format!("  {id}: {e}")).collect();
        bail!("{} of {} jobs failed (results of the others are written):\n{}", failed.len(), mine.len(), list.join("\n"));
    }
    Ok(outcome)
}

/// Returns whether the model came from the cache.
fn run_job(
    job: &Job,
    plan: &Plan,
    opts: &RunOptions,
    data: &mut LazyData,
    builder: &mut Builder,
    progress: &mut dyn FnMut(&str),
) -> Result<bool> {
    let cfg = cache::train_config(job, plan.epochs)?;
    // Recorded in the model's provenance: the same for every shard layout and output directory, so
    // a job's model (and its hash in the report) does not depend on how the sweep was split.
    let command = format!("cargo xtask sweep (job {}, {} epochs)", job.id(), cfg.epochs);
    let (model, reused) = cache::ensure_model(&opts.out, job, &cfg, data, &command, progress)?;
    if reused {
        progress(&format!("reusing cached model {}", model.display()));
    }
    let build = BuildOptions { model: Some(model), data: opts.data.clone(), seed: job.seed, ..opts.build.clone() };
    let report = builder(&build, progress)?;
    let path = JobResult::new(job, cfg.epochs, report).write(&opts.out)?;
    progress(&format!("result written to {}", path.display()));
    Ok(reused)
}
