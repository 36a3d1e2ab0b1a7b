//! Property runs over configurations: proptest draws and shrinks cases, [`run::run_case`]
//! simulates them; a failure is shrunk, re-run with a waveform and saved as a replayable case.

use super::case::Case;
use super::config::{Config, Dut};
use super::run::{self, Failure};
use super::sources::RtlSources;
use super::strategy;
use anyhow::{Context, Result};
use proptest::test_runner::{Config as PtConfig, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
use serde::{Deserialize, Serialize};
use std::cell::{Cell, RefCell};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

/// Cases per configuration (overrides each configuration's default).
pub const CASES_ENV: &str = "RTLCHECK_CASES";
/// Seed of proptest's generator (default: random, printed so a run can be repeated).
pub const SEED_ENV: &str = "RTLCHECK_SEED";
/// Parallel configurations (default 2).
pub const JOBS_ENV: &str = "RTLCHECK_JOBS";
/// Floor of stream transactions a full suite run must reach.
pub const MIN_TRANSACTIONS: u64 = 100_000;

#[derive(Clone, Debug)]
pub struct Options {
    pub sources: RtlSources,
    /// Cases per configuration; `None`: each configuration's [`Config::default_cases`].
    pub cases: Option<u32>,
    /// Seed of proptest's generator; each configuration derives its own from it.
    pub seed: u64,
    /// Shrink a failing case to a minimal one (off in mutation runs: detection is all they need).
    pub shrink: bool,
    /// Write case.json, wave.fst and mismatch.txt of a failure under `target/rtlcheck/failures`.
    pub artifacts: bool,
    /// Worker threads (configurations in parallel).
    pub jobs: usize,
    /// Stop starting configurations after the first failure.
    pub stop_on_failure: bool,
    /// One line per configuration on stderr.
    pub verbose: bool,
}

impl Options {
    /// From `RTLCHECK_CASES`, `RTLCHECK_SEED`, `RTLCHECK_JOBS` and `RTLCHECK_RTL_DIR`.
    pub fn from_env() -> Options {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let seed = env(SEED_ENV).and_then(|v| v.trim().parse().ok()).unwrap_or_else(random_seed);
        Options {
            sources: RtlSources::from_env(),
            cases: env(CASES_ENV).and_then(|v| v.trim().parse().ok()),
            seed,
            shrink: true,
            artifacts: true,
            jobs: env(JOBS_ENV).and_then(|v| v.trim().parse().ok()).unwrap_or(2).max(1),
            stop_on_failure: false,
            verbose: true,
        }
    }
}

fn random_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0));
    h.finish() % 1_000_000_000
}

/// A failing case as saved in `case.json`: everything `cargo xtask replay` needs.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SavedCase {
    pub config: Config,
    pub case: Case,
    /// The RTL directory the failure was found with (a mutant's temporary copy, or `rtl/`).
    pub rtl_dir: PathBuf,
    /// Proptest seed of the run that found it.
    pub proptest_seed: u64,
    pub report: String,
}

#[derive(Clone, Debug)]
pub struct FailureInfo {
    pub failure: Option<Failure>,
    /// The failure summary (or the harness error).
    pub report: String,
    pub case: Case,
    /// Directory with case.json, wave.fst, mismatch.txt.
    pub dir: Option<PathBuf>,
    /// The harness itself failed (build error, invalid case): not a detected RTL bug.
    pub harness_error: bool,
}

impl FailureInfo {
    /// The panic message of a test: what, where, and how to replay.
    pub fn message(&self, config: &Config) -> String {
        let mut s = format!("RTL property check failed: {}\n{}\n", config.describe(), self.report);
        if let Some(d) = &self.dir {
            s.push_str(&format!(
                "case:     {}\nwave:     {}\nreport:   {}\nreplay:   cargo xtask replay {}\n",
                d.join("case.json").display(),
                d.join(WAVE).display(),
                d.join("mismatch.txt").display(),
                d.join("case.json").display()
            ));
        }
        s
    }
}

#[derive(Clone, Debug)]
pub struct ConfigReport {
    pub config: Config,
    pub cases: u32,
    pub transactions: u64,
    pub cycles: u64,
    pub seconds: f64,
    pub failure: Option<FailureInfo>,
}

fn per_config_seed(seed: u64, name: &str) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(seed.to_le_bytes());
    h.update(name.as_bytes());
    h.finalize().into()
}

/// Runs `config`'s property: `cases` random cases (shrinking the first failure).
pub fn check(config: &Config, opts: &Options) -> Result<ConfigReport> {
    let started = Instant::now();
    let cases = opts.cases.unwrap_or_else(|| config.default_cases());
    let pt = PtConfig {
        cases,
        max_shrink_iters: if opts.shrink { 512 } else { 0 },
        failure_persistence: None,
        ..PtConfig::default()
    };
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &per_config_seed(opts.seed, &config.name));
    let mut runner = TestRunner::new_with_rng(pt, rng);
    let transactions = Cell::new(0u64);
    let cycles = Cell::new(0u64);
    let ran = Cell::new(0u32);
    let harness_error: RefCell<Option<String>> = RefCell::new(None);
    let last_failure: RefCell<Option<Failure>> = RefCell::new(None);
    let result = runner.run(&strategy::case(config), |case| {
        if harness_error.borrow().is_some() {
            // Do not shrink a harness error through hundreds of builds: fail fast.
            return Err(TestCaseError::fail("harness error"));
        }
        ran.set(ran.get() + 1);
        match run::run_case(config, &opts.sources, &case, None) {
            Ok(Ok(o)) => {
                transactions.set(transactions.get() + o.transactions);
                cycles.set(cycles.get() + o.cycles);
                Ok(())
            }
            Ok(Err(f)) => {
                let r = f.report();
                *last_failure.borrow_mut() = Some(f);
                Err(TestCaseError::fail(r))
            }
            Err(e) => {
                *harness_error.borrow_mut() = Some(format!("{e:#}"));
                Err(TestCaseError::fail("harness error"))
            }
        }
    });
    let failure = match result {
        Ok(()) => None,
        Err(TestError::Abort(why)) => Some(FailureInfo {
            failure: None,
            report: format!("proptest aborted: {why}"),
            case: Case { seed: 0, stalls: Default::default(), data: super::case::Data::StreamFifo { beats: vec![] } },
            dir: None,
            harness_error: true,
        }),
        Err(TestError::Fail(_, case)) => {
            if let Some(e) = harness_error.borrow().clone() {
                Some(FailureInfo { failure: None, report: format!("harness error: {e}"), case, dir: None, harness_error: true })
            } else {
                // The minimal case is the last one that failed in the shrink, but re-run it to
                // get its own report (and the waveform).
                let (failure, report, dir) = if opts.artifacts {
                    match save_failure(config, opts, &case) {
                        Ok((f, dir)) => (Some(f.clone()), f.report(), Some(dir)),
                        Err(e) => {
                            let f = last_failure.borrow().clone();
                            let r = f.as_ref().map(Failure::report).unwrap_or_default();
                            (f, format!("{r}\n(could not save the failure: {e:#})"), None)
                        }
                    }
                } else {
                    let f = last_failure.borrow().clone();
                    let r = f.as_ref().map(Failure::report).unwrap_or_default();
                    (f, r, None)
                };
                Some(FailureInfo { failure, report, case, dir, harness_error: false })
            }
        }
    };
    Ok(ConfigReport {
        config: config.clone(),
        cases: ran.get(),
        transactions: transactions.get(),
        cycles: cycles.get(),
        seconds: started.elapsed().as_secs_f64(),
        failure,
    })
}

/// Directory of a configuration's failure artifacts.
pub fn failure_dir(config: &Config, case: &Case) -> PathBuf {
    crate::paths::target_dir().join("rtlcheck").join("failures").join(format!("{}-{}", config.name, case.id()))
}

/// Re-runs the failing case with a waveform, localises a network mismatch to a layer and writes
/// case.json, wave.fst and mismatch.txt.
fn save_failure(config: &Config, opts: &Options, case: &Case) -> Result<(Failure, PathBuf)> {
    let dir = failure_dir(config, case);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let (failure, _) = replay(config, &opts.sources, case, &dir)?;
    let failure = failure.context("the shrunk case passes when re-run (a flaky design or harness)")?;
    let saved = SavedCase {
        config: config.clone(),
        case: case.clone(),
        rtl_dir: std::path::absolute(&opts.sources.dir)?,
        proptest_seed: opts.seed,
        report: failure.report(),
    };
    golden_model::io::write_atomic(&dir.join("case.json"), serde_json::to_string_pretty(&saved)?.as_bytes())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok((failure, dir))
}

/// Runs `case` with a waveform into `dir/wave.fst`, writes `dir/mismatch.txt` and returns the
/// failure (None when the case passes) and the report text.
pub fn replay(config: &Config, sources: &RtlSources, case: &Case, dir: &Path) -> Result<(Option<Failure>, String)> {
    replay_traced(config, sources, case, dir, &dir.join(WAVE))
}

/// Waveform of a saved failure: FST, compressed (a failing network case's VCD runs to megabytes).
pub const WAVE: &str = "wave.fst";

/// As [`replay`], with the waveform written to `wave` (`.fst` or `.vcd`).
pub fn replay_traced(
    config: &Config,
    sources: &RtlSources,
    case: &Case,
    dir: &Path,
    wave: &Path,
) -> Result<(Option<Failure>, String)> {
    let result = run::run_case(config, sources, case, Some(wave))?;
    let mut text = format!(
        "configuration: {}\ncase:          {} ({}), seed {}, {}\nrtl:           {}\n\n",
        config.describe(),
        case.id(),
        case.describe(),
        case.seed,
        case.stalls.describe(),
        sources.dir.display()
    );
    let failure = match result {
        Ok(o) => {
            text.push_str(&format!("PASS: {} stream transactions in {} cycles\n", o.transactions, o.cycles));
            None
        }
        Err(f) => {
            text.push_str(&f.report());
            text.push('\n');
            if let Dut::Network(_) = &config.dut {
                match super::localise::first_bad_layer(config, sources, case) {
                    Ok(Some(l)) => text.push_str(&format!("\nfirst wrong layer, each layer alone with golden inputs:\n{l}\n")),
                    Ok(None) => text.push_str(
                        "\nevery layer alone (golden inputs, the same stalls) matches: the fault is in the stitching or stall handling\n",
                    ),
                    Err(e) => text.push_str(&format!("\n(could not localise the layer: {e:#})\n")),
                }
            }
            Some(f)
        }
    };
    text.push_str(&format!("\nwaveform: {}\n", wave.display()));
    golden_model::io::write_atomic(&dir.join("mismatch.txt"), text.as_bytes()).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok((failure, text))
}

/// Checks `configs` on `opts.jobs` threads, in order of the list.
pub fn check_all(configs: &[Config], opts: &Options) -> Vec<Result<ConfigReport>> {
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let results: Mutex<Vec<Option<Result<ConfigReport>>>> = Mutex::new((0..configs.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..opts.jobs.min(configs.len()).max(1) {
            // Big stack: Verilator's generated eval functions of a network keep large frames.
            let worker = std::thread::Builder::new().stack_size(256 << 20);
            let spawned = worker.spawn_scoped(s, || {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= configs.len() || (opts.stop_on_failure && stop.load(Ordering::SeqCst)) {
                        break;
                    }
                    let r = check(&configs[i], opts);
                    let failed = !matches!(&r, Ok(c) if c.failure.is_none());
                    if opts.verbose {
                        match &r {
                            Ok(c) => eprintln!(
                                "rtlcheck {:<34} {:>4} cases {:>7} transactions {:>9} cycles {:>6.1} s{}",
                                c.config.name,
                                c.cases,
                                c.transactions,
                                c.cycles,
                                c.seconds,
                                if c.failure.is_some() { "  FAILED" } else { "" }
                            ),
                            Err(e) => eprintln!("rtlcheck {:<34} ERROR {e:#}", configs[i].name),
                        }
                    }
                    if failed {
                        stop.store(true, Ordering::SeqCst);
                    }
                    results.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(r);
                }
            });
            spawned.expect("cannot spawn an rtlcheck worker");
        }
    });
    results.into_inner().unwrap_or_else(|p| p.into_inner()).into_iter().flatten().collect()
}

/// Runs the suite over `configs` and panics with every failure's message (for `cargo test`).
/// Returns the total stream transactions.
pub fn assert_all(configs: &[Config], opts: &Options) -> u64 {
    let t0 = Instant::now();
    eprintln!(
        "rtlcheck: {} configurations, proptest seed {} ({SEED_ENV}={} repeats this run), rtl {}",
        configs.len(),
        opts.seed,
        opts.seed,
        opts.sources.dir.display()
    );
    let results = check_all(configs, opts);
    let mut messages = vec![];
    let (mut tx, mut cases, mut cycles) = (0u64, 0u64, 0u64);
    for r in &results {
        match r {
            Ok(c) => {
                tx += c.transactions;
                cases += c.cases as u64;
                cycles += c.cycles;
                if let Some(f) = &c.failure {
                    messages.push(f.message(&c.config));
                }
            }
            Err(e) => messages.push(format!("harness error: {e:#}")),
        }
    }
    eprintln!(
        "rtlcheck: {} configurations, {cases} cases, {tx} stream transactions, {cycles} cycles, {} failure(s), {:.1} s",
        results.len(),
        messages.len(),
        t0.elapsed().as_secs_f64()
    );
    assert!(messages.is_empty(), "{} failing configuration(s) (proptest seed {}):\n\n{}", messages.len(), opts.seed, messages.join("\n"));
    tx
}

/// Only configurations whose name contains one of the comma-separated words.
pub const ONLY_ENV: &str = "RTLCHECK_ONLY";

/// `configs` filtered by `RTLCHECK_ONLY`; the flag says whether a filter applied.
pub fn selected(configs: Vec<Config>) -> (Vec<Config>, bool) {
    match std::env::var(ONLY_ENV).ok().filter(|v| !v.trim().is_empty()) {
        None => (configs, false),
        Some(words) => {
            let words: Vec<&str> = words.split(',').map(str::trim).filter(|w| !w.is_empty()).collect();
            (configs.into_iter().filter(|c| words.iter().any(|w| c.name.contains(w))).collect(), true)
        }
    }
}

/// The RTL property suite over the configurations `keep` selects, as a test: panics on any
/// failure; with the default case counts and no filter, also when fewer than `floor` stream
/// transactions were checked. Returns the transactions.
pub fn run_test(keep: impl Fn(&Config) -> bool, floor: u64) -> u64 {
    let (configs, filtered) = selected(super::config::configs().into_iter().filter(|c| keep(c)).collect());
    let opts = Options::from_env();
    let tx = assert_all(&configs, &opts);
    if !filtered && opts.cases.is_none() {
        assert!(tx >= floor, "only {tx} stream transactions were checked, the floor is {floor}");
        eprintln!("rtlcheck: {tx} stream transactions >= floor {floor}");
    }
    tx
}
