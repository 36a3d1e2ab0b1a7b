//! `cargo xtask mutate`: applies single plausible RTL bugs one at a time to a copy of `rtl/` and
//! reports which ones the RTL property suite and the end-to-end network check detect. Writes
//! `target/mutate/mutate.json` and `mutate.md`; fails when the score is below 95 %.

use anyhow::{Result, bail};
use harness::mutate::{self, MutateOptions};
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// Only these mutants (comma-separated ids)
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// List the mutants and exit
    #[arg(long)]
    pub list: bool,
    /// Cases per configuration (default: each configuration's default)
    #[arg(long)]
    pub cases: Option<u32>,
    /// Proptest seed (default: random, printed)
    #[arg(long)]
    pub seed: Option<u64>,
}

fn random_seed() -> u64 {
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    (t as u64 ^ (std::process::id() as u64).rotate_left(32)) % 1_000_000_007
}

pub fn run(args: Args) -> Result<()> {
    crate::tools::ensure(&[&crate::tools::VERILATOR])?;
    let mut all = mutate::mutants();
    if args.list {
        for m in &all {
            println!("{:<30} {:<26} {}", m.id, m.file, m.what);
        }
        return Ok(());
    }
    if !args.only.is_empty() {
        if let Some(bad) = args.only.iter().find(|id| !all.iter().any(|m| m.id == id.as_str())) {
            bail!("no mutant `{bad}` (see `cargo xtask mutate --list`)");
        }
        all.retain(|m| args.only.iter().any(|id| id == m.id));
    }
    let root = crate::project_root();
    let out = harness::paths::target_dir().join("mutate");
    let seed = args.seed.unwrap_or_else(random_seed);
    let opts = MutateOptions { rtl: root.join("rtl"), work: out.join("rtl"), cases: args.cases, seed };
    // Every pattern must still match before anything is built.
    for m in &all {
        let text = std::fs::read_to_string(opts.rtl.join(m.file))?;
        mutate::patch(&text, m)?;
    }
    println!("{} mutants of {}, proptest seed {seed} (--seed {seed} repeats this run)", all.len(), opts.rtl.display());
    println!("{:<30} {:<26} {:<36} {:<10} {:>6}", "mutant", "file", "property suite", "end-to-end", "s");
    let t0 = Instant::now();
    let mut results = vec![];
    for m in &all {
        let r = mutate::run_mutant(m, &opts)?;
        let p = r.property.as_ref().map_or(format!("missed ({} configs)", r.property_configs_run), |d| d.config.clone());
        let e = if r.end_to_end.is_some() { "detected" } else { "missed" };
        println!(
            "{:<30} {:<26} {:<36} {:<10} {:>6.1}{}",
            r.id,
            r.file,
            p,
            e,
            r.seconds,
            if r.detected() { "" } else { "  SURVIVED" }
        );
        for err in &r.errors {
            println!("    harness error: {}", err.lines().next().unwrap_or(""));
        }
        // The mutant's copy of rtl/ is not needed once checked (its builds stay in the cache).
        let _ = std::fs::remove_dir_all(opts.work.join(m.id));
        results.push(r);
    }
    let summary = mutate::summarize(results, seed, t0.elapsed().as_secs_f64());
    std::fs::create_dir_all(&out)?;
    std::fs::write(out.join("mutate.json"), serde_json::to_string_pretty(&summary)?)?;
    let md = mutate::markdown(&summary);
    std::fs::write(out.join("mutate.md"), &md)?;
    println!(
        "\n{} of {} mutants detected: {:.1} % (property suite {}, end-to-end {}) in {:.0} s",
        summary.detected,
        summary.mutants,
        100.0 * summary.score,
        summary.detected_by_property,
        summary.detected_by_end_to_end,
        summary.seconds
    );
    for r in summary.results.iter().filter(|r| !r.detected()) {
        println!(
            "survivor {}: {} ({})",
            r.id,
            r.what,
            mutate::survivor_reason(&r.id).unwrap_or("not analysed")
        );
    }
    println!("reports: {} and {}", out.join("mutate.json").display(), out.join("mutate.md").display());
    if summary.score < mutate::THRESHOLD {
        bail!("mutation score {:.1} % is below {:.0} %", 100.0 * summary.score, 100.0 * mutate::THRESHOLD);
    }
    Ok(())
}
