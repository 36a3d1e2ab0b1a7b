//! Joining the shards' job results into one sweep: completeness check, per-bit-width statistics over
//! seeds, Pareto fronts.

use super::pareto;
use super::plan::{BitWidth, Plan};
use super::result::{JobResult, JobSummary, job_path, jobs_dir};
use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};
use std::path::Path;

pub const SWEEP_SCHEMA: &str = "qnn-sweep/1";

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stat {
    pub mean: f64,
    pub min: f64,
    pub max: f64,
}

impl Stat {
    /// `None` for no values.
    pub fn of(values: impl IntoIterator<Item = f64>) -> Option<Stat> {
        let v: Vec<f64> = values.into_iter().collect();
        if v.is_empty() {
            return None;
        }
        let min = v.iter().copied().fold(f64::INFINITY, f64::min);
        let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        Some(Stat { mean: v.iter().sum::<f64>() / v.len() as f64, min, max })
    }
}

/// One architecture at one bit width, over its seeds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub arch: String,
    pub bits: BitWidth,
    pub seeds: Vec<u64>,
    pub accuracy: Stat,
    pub accuracy_rtl: Stat,
    pub balanced_accuracy: Option<Stat>,
    pub auc: Option<Stat>,
    pub mismatches: u64,
    pub lut: Stat,
    pub ff: Stat,
    pub bram36: Stat,
    pub latency_cycles: Stat,
    pub ii_cycles: Stat,
    pub fps: Stat,
}

/// `sweep.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sweep {
    pub schema: String,
    pub plan: Plan,
    /// Training epochs of the merged results.
    pub epochs: usize,
    /// Job ids of the plan without a result (only with `--allow-partial`).
    pub missing: Vec<String>,
    /// Present jobs, in plan order.
    pub jobs: Vec<JobSummary>,
    pub groups: Vec<Group>,
    /// Job ids on the front of (maximum test accuracy, minimum LUT).
    pub pareto_accuracy_vs_lut: Vec<String>,
    /// Job ids on the front of (maximum test accuracy, minimum weight + activation bits).
    pub pareto_accuracy_vs_bits: Vec<String>,
}

/// Statistics and fronts of the given results (any subset of the plan's jobs, in any order).
pub fn aggregate(plan: &Plan, results: &[JobSummary]) -> Result<Sweep> {
    let order = plan.jobs();
    let mut jobs: Vec<JobSummary> = vec![];
    let mut missing = vec![];
    for job in &order {
        let id = job.id();
        match results.iter().filter(|r| r.id == id).collect::<Vec<_>>()[..] {
            [] => missing.push(id),
            [r] => {
                if &r.job != job {
                    bail!("result `{}` describes job {:?}, not {:?}", r.id, r.job, job);
                }
                jobs.push(r.clone());
            }
            _ => bail!("job `{id}` has more than one result"),
        }
    }
    if let Some(stray) = results.iter().find(|r| !order.iter().any(|j| j.id() == r.id)) {
        bail!("result `{}` is not a job of this sweep's plan (check --arch, --bits and --seeds)", stray.id);
    }
    if jobs.is_empty() {
        bail!("no job results: nothing to merge");
    }
    let epochs = jobs[0].epochs;
    if let Some(e) = plan.epochs
        && let Some(r) = jobs.iter().find(|r| r.epochs != e)
    {
        bail!("job `{}` was trained for {} epochs, the sweep asks for {e}; rerun it", r.id, r.epochs);
    }
    let mixed: Vec<String> =
        jobs.iter().filter(|r| r.epochs != epochs).map(|r| format!("{} ({} epochs)", r.id, r.epochs)).collect();
    if !mixed.is_empty() {
        bail!(
            "results were trained for different numbers of epochs: {} has {epochs}, but {}; rerun them with one --epochs",
            jobs[0].id,
            mixed.join(", ")
        );
    }
    let mut groups = vec![];
    for arch in &plan.archs {
        for bits in &plan.bits {
            let g: Vec<&JobSummary> = jobs.iter().filter(|r| &r.job.arch == arch && r.job.bits == *bits).collect();
            if g.is_empty() {
                continue;
            }
            let stat = |f: fn(&JobSummary) -> f64| Stat::of(g.iter().map(|r| f(r))).expect("non-empty group");
            groups.push(Group {
                arch: arch.clone(),
                bits: *bits,
                seeds: g.iter().map(|r| r.job.seed).collect(),
                accuracy: stat(|r| r.accuracy),
                accuracy_rtl: stat(|r| r.accuracy_rtl),
                balanced_accuracy: Stat::of(g.iter().filter_map(|r| r.balanced_accuracy)),
                auc: Stat::of(g.iter().filter_map(|r| r.auc)),
                mismatches: g.iter().map(|r| r.mismatches).sum(),
                lut: stat(|r| r.lut as f64),
                ff: stat(|r| r.ff as f64),
                bram36: stat(|r| r.bram36),
                latency_cycles: stat(|r| r.latency_cycles as f64),
                ii_cycles: stat(|r| r.ii_cycles as f64),
                fps: stat(|r| r.fps),
            });
        }
    }
    let ids = |front: Vec<usize>| front.into_iter().map(|i| jobs[i].id.clone()).collect::<Vec<_>>();
    let by_lut: Vec<(f64, f64)> = jobs.iter().map(|r| (r.accuracy, r.lut as f64)).collect();
    let by_bits: Vec<(f64, f64)> = jobs.iter().map(|r| (r.accuracy, f64::from(r.job.bits.total()))).collect();
    Ok(Sweep {
        schema: SWEEP_SCHEMA.into(),
        plan: plan.clone(),
        epochs,
        missing,
        pareto_accuracy_vs_lut: ids(pareto::front(&by_lut)),
        pareto_accuracy_vs_bits: ids(pareto::front(&by_bits)),
        jobs,
        groups,
    })
}

/// Reads the plan's job results from `<out>/jobs/` and aggregates them. Missing results are an error
/// listing them unless `allow_partial`.
pub fn merge(out: &Path, plan: &Plan, allow_partial: bool) -> Result<Sweep> {
    let all = plan.jobs();
    let mut results = vec![];
    let mut missing = vec![];
    for job in &all {
        let p = job_path(out, &job.id());
        if p.exists() {
            results.push(JobResult::read(&p)?.summary);
        } else {
            missing.push(job.id());
        }
    }
    if !missing.is_empty() && !allow_partial {
        bail!(
            "{} of {} job results are missing in {}: {}\nrun the shards that hold them (`cargo xtask sweep --shard i/n` with \
             the same --arch/--bits/--seeds), or merge what is there with --allow-partial",
            missing.len(),
            all.len(),
            jobs_dir(out).display(),
            missing.join(", ")
        );
    }
    if results.is_empty() {
        bail!("no job results in {}: run `cargo xtask sweep` (or its shards) first", jobs_dir(out).display());
    }
    aggregate(plan, &results)
}

/// Result files in `<out>/jobs/` that are not jobs of `plan` (left by a sweep with other flags).
pub fn strays(out: &Path, plan: &Plan) -> Vec<String> {
    let ids: Vec<String> = plan.jobs().iter().map(|j| format!("{}.json", j.id())).collect();
    let mut v: Vec<String> = std::fs::read_dir(jobs_dir(out))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.ends_with(".json") && !ids.contains(n))
        .collect();
    v.sort();
    v
}
