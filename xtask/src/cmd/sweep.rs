//! `cargo xtask sweep`: train (or reuse) and report models over bit widths and seeds; shards for
//! many machines; merge into sweep.json / .md / .html with Pareto plots.

use super::generate::AutoFolding;
use super::report::{Measure, progress_printer};
use anyhow::{Context, Result};
use harness::report::BuildOptions;
use harness::sweep::{self, Plan, Shard, plan, run};
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
#[command(
    about = "Train and report over bit widths and seeds; Pareto plots",
    after_help = "Jobs are architecture x bit width x seed, in that order. Each job trains its model with the train \
crate (or reuses OUT/models/<job>.qnn.json when it was trained with the same configuration), builds its report \
(`cargo xtask report` with the job's seed as simulation seed) and writes OUT/jobs/<job>.json.\n\n\
--shard i/n runs the jobs j (0-based) with j % n == i - 1, so n machines (a CI matrix, a Slurm array with \
--shard $((SLURM_ARRAY_TASK_ID+1))/$SLURM_ARRAY_TASK_COUNT) share the work; copy their OUT/jobs/ files into one \
directory and run `cargo xtask sweep --merge` with the same --arch/--bits/--seeds/--epochs. Without --shard every \
job runs, then the results are merged into OUT/sweep.json, sweep.md and sweep.html.\n\n\
Examples:\n  cargo xtask sweep\n  cargo xtask sweep --bits w1a1,w2a2 --seeds 1 --epochs 2 --skip-synth --rtl-images 20\n  \
cargo xtask sweep --shard 2/4\n  cargo xtask sweep --merge"
)]
pub struct Args {
    /// Architectures, comma-separated (cnv, mlp)
    #[arg(long, default_value = "cnv", value_name = "LIST")]
    arch: String,
    /// Bit widths, comma-separated: w<W>a<A>[i<I>]
    #[arg(long, default_value = "w1a1,w1a2,w2a2,w4a4,w8a8", value_name = "LIST")]
    bits: String,
    /// Training seeds, comma-separated
    #[arg(long, default_value = "1,2,3", value_name = "LIST")]
    seeds: String,
    /// Training epochs [default: the trainer's default for the architecture]
    #[arg(long, value_name = "N")]
    epochs: Option<usize>,
    /// Output directory [default: target/sweep]
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Run only share i of n of the jobs (1-based), e.g. 2/4; merge later with --merge
    #[arg(long, value_name = "I/N", conflicts_with = "merge", value_parser = |s: &str| s.parse::<Shard>())]
    shard: Option<Shard>,
    /// Only merge the job results in OUT/jobs/ into sweep.json / .md / .html
    #[arg(long)]
    merge: bool,
    /// Merge even when some jobs have no result (they are listed as missing)
    #[arg(long)]
    allow_partial: bool,
    #[command(flatten)]
    auto: AutoFolding,
    #[command(flatten)]
    measure: Measure,
}

fn plan_of(args: &Args) -> Result<Plan> {
    let p = Plan {
        archs: plan::parse_archs(&args.arch).map_err(|e| anyhow::anyhow!("--arch: {e}"))?,
        bits: plan::parse_bits_list(&args.bits).map_err(|e| anyhow::anyhow!("--bits: {e}"))?,
        seeds: plan::parse_seeds(&args.seeds).map_err(|e| anyhow::anyhow!("--seeds: {e}"))?,
        epochs: args.epochs,
    };
    if p.epochs == Some(0) {
        anyhow::bail!("--epochs must be at least 1");
    }
    Ok(p)
}

fn merge_and_write(out: &Path, p: &Plan, allow_partial: bool) -> Result<()> {
    for stray in sweep::merge::strays(out, p) {
        eprintln!("note: {}/jobs/{stray} is not a job of this plan; left out", out.display());
    }
    let s = sweep::merge(out, p, allow_partial)?;
    sweep::render::write_all(&s, out)?;
    println!(
        "merged {} of {} jobs: wrote {dir}/sweep.json, {dir}/sweep.md, {dir}/sweep.html",
        s.jobs.len(),
        s.jobs.len() + s.missing.len(),
        dir = out.display()
    );
    println!("Pareto front (accuracy vs LUT): {}", s.pareto_accuracy_vs_lut.join(", "));
    Ok(())
}

pub fn run(args: Args) -> Result<()> {
    let p = plan_of(&args)?;
    let out = args.out.clone().unwrap_or_else(|| harness::paths::target_dir().join("sweep"));
    if args.merge {
        return merge_and_write(&out, &p, args.allow_partial);
    }
    let build = args.measure.apply(BuildOptions {
        limits: args.auto.limits()?,
        target_ii: args.auto.target_ii()?,
        clock_mhz: args.auto.clock()?,
        ..BuildOptions::default()
    })?;
    args.measure.ensure_tools(&build)?;
    let opts = run::RunOptions { out: out.clone(), data: args.measure.data.clone(), build };
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create output directory {}", out.display()))?;
    let mut progress = progress_printer();
    let ran = run::run(&p, args.shard, &opts, &mut progress);
    if let Some(s) = args.shard {
        let done = ran?;
        println!(
            "shard {s}: {} job result(s) in {}/jobs ({} model(s) reused); merge all shards with `cargo xtask sweep --merge`",
            done.done.len(),
            out.display(),
            done.reused.len()
        );
        return Ok(());
    }
    match ran {
        Ok(_) => merge_and_write(&out, &p, args.allow_partial),
        // Still merge what succeeded when asked to, but keep the failure in the exit status.
        Err(e) if args.allow_partial => {
            merge_and_write(&out, &p, true)?;
            Err(e)
        }
        Err(e) => Err(e),
    }
}
