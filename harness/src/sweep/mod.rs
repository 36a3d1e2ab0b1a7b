//! Sweeps: train (or reuse) one model per architecture x bit width x seed, report each, and compare
//! them: accuracy against LUTs and bit width, with Pareto fronts.
//!
//! Layout of the output directory: `models/<job>.qnn.json` (+ training log, curve, cache stamp),
//! `jobs/<job>.json` (one result per job, written by whichever shard ran it), and after merging
//! `sweep.json`, `sweep.md`, `sweep.html`. Shards share nothing but that directory (or copies of
//! their `jobs/` in it), so a CI matrix or a Slurm array can run them anywhere.

pub mod cache;
pub mod merge;
pub mod pareto;
pub mod plan;
pub mod plots;
pub mod render;
pub mod result;
pub mod run;

pub use merge::{Group, Stat, Sweep, aggregate, merge};
pub use plan::{BitWidth, Job, Plan, Shard};
pub use result::{JobResult, JobSummary};
