//! Running one case: build (cached), simulate from random initial state under the case's stalls,
//! compare every field of every output beat with the golden model.

use super::case::Case;
use super::config::{Config, Dut};
use super::dut;
use super::expect::{self, Stream};
use super::sources::RtlSources;
use crate::cosim::bits;
use anyhow::{Context, Result};
use sim::{BuildSpec, Library, Limits, Sim, SimOptions};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Libraries already loaded by this process, by build spec: `sim::build` would re-hash every
/// source and ask Verilator and the compiler for their versions on every case.
static LIBS: Mutex<Option<HashMap<BuildSpec, Library>>> = Mutex::new(None);

/// Builds (or finds in the cache) the library of `spec`.
pub fn library(spec: &BuildSpec) -> Result<Library> {
    if let Some(lib) = LIBS.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert_with(HashMap::new).get(spec) {
        return Ok(lib.clone());
    }
    let lib = sim::build(spec).with_context(|| format!("building {}", spec.top))?;
    LIBS.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert_with(HashMap::new).insert(spec.clone(), lib.clone());
    Ok(lib)
}

/// Where and how a case ran wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// The module (or, in a network, the layer) that produced the first wrong beat.
    pub unit: String,
    /// Index of the first wrong output beat, its place in the case and its transfer cycle.
    pub beat: usize,
    pub context: String,
    pub cycle: u64,
    /// Cycle relative to the run's first cycle (reset excluded).
    pub run_cycle: u64,
    pub expected: Vec<u64>,
    pub got: Vec<u64>,
    pub fields: Vec<usize>,
    /// Wrong beats in all.
    pub wrong_beats: usize,
    pub total_beats: usize,
}

/// What went wrong in a case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// All beats arrived; some differ from the golden model.
    Mismatch(Mismatch),
    /// The simulation itself failed: deadlock (watchdog), surplus output, assertion, ...
    Sim { unit: String, error: String, beats_ok_before: Option<usize> },
}

impl Failure {
    /// The one-paragraph summary used in panic messages and `mismatch.txt`.
    pub fn report(&self) -> String {
        match self {
            Failure::Mismatch(m) => {
                let hex = |v: &[u64]| {
                    v.iter().zip(&m.fields).map(|(x, b)| format!("{:#0w$x}", x, w = 2 + b.div_ceil(4))).collect::<Vec<_>>().join(" ")
                };
                let diff: Vec<String> = m
                    .expected
                    .iter()
                    .zip(&m.got)
                    .enumerate()
                    .filter(|(_, (e, g))| e != g)
                    .map(|(i, (e, g))| {
                        let b = m.fields[i];
                        format!("field {i} ({b} bits): expected {}, got {}", show(*e, b), show(*g, b))
                    })
                    .collect();
                let mut s = String::new();
                let _ = writeln!(s, "unit:     {}", m.unit);
                let _ = writeln!(s, "beat:     output beat {} of {} ({})", m.beat, m.total_beats, m.context);
                let _ = writeln!(s, "cycle:    {} (cycle {} of the run)", m.cycle, m.run_cycle);
                let _ = writeln!(s, "expected: {}", hex(&m.expected));
                let _ = writeln!(s, "got:      {}", hex(&m.got));
                let _ = writeln!(s, "fields:   {}", diff.join("; "));
                let _ = write!(s, "wrong:    {} of {} output beats", m.wrong_beats, m.total_beats);
                s
            }
            Failure::Sim { unit, error, beats_ok_before } => {
                let mut s = format!("unit:     {unit}\nerror:    {error}");
                if let Some(n) = beats_ok_before {
                    let _ = write!(s, "\n          (the {n} output beats received before it matched the golden model)");
                }
                s
            }
        }
    }
}

/// Stream transactions and cycles of a passing case.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    pub transactions: u64,
    pub cycles: u64,
}

/// Per-case work directory of a configuration: memory images, generated network RTL.
pub fn work_dir(config: &Config, sources: &RtlSources) -> PathBuf {
    // Different RTL directories (mutants) must not share memory images or generated files.
    use sha2::{Digest, Sha256};
    let tag = hex::encode(Sha256::digest(sources.dir.as_os_str().as_encoded_bytes()));
    crate::paths::target_dir().join("rtlcheck").join("work").join(&tag[..12]).join(&config.name)
}

/// Cycles without progress before a case is declared deadlocked: generous against the longest
/// stall patterns (a few dozen cycles) and start-up of a window (a few rows).
pub const WATCHDOG: u64 = 5_000;

/// Cycles watched after the last expected beat for a surplus one.
const TAIL_CYCLES: u64 = 64;

/// Runs `case` on `config`. `Err` is a problem of the harness (invalid case, build failure);
/// `Ok(Err)` a failure of the RTL. With `trace`, the build traces in the format its extension
/// names (`.fst` or `.vcd`) and the run writes it.
pub fn run_case(config: &Config, sources: &RtlSources, case: &Case, trace: Option<&Path>) -> Result<Result<Outcome, Failure>> {
    let stream = expect::stream(config, case)?;
    let dir = work_dir(config, sources);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let target = dut::prepare(config, sources, &dir, case)?;
    let format = trace.map(sim::TraceFormat::from_path).transpose().map_err(anyhow::Error::msg)?;
    let spec = target.spec.clone().trace_format(format);
    let lib = library(&spec)?;
    let unit = match &config.dut {
        Dut::Network(_) => "network (whole accelerator)".to_string(),
        _ => config.module().to_string(),
    };
    simulate(&lib, &stream, case, target.probes.clone(), trace, &unit, |i| expect::beat_context(config, i))
}

/// Simulates `stream` on `lib` and compares.
pub fn simulate(
    lib: &Library,
    stream: &Stream,
    case: &Case,
    probes: Vec<sim::Probe>,
    trace: Option<&Path>,
    unit: &str,
    context: impl Fn(usize) -> String,
) -> Result<Result<Outcome, Failure>> {
    let stalls = case.stalls.to_stalls()?;
    let opts = SimOptions { seed: case.seed, trace: trace.map(Path::to_path_buf), probes, ..SimOptions::default() };
    let mut sim = Sim::new(lib, opts)?;
    let start = sim.cycle();
    let n = stream.beats.len();
    let limits = Limits { watchdog: WATCHDOG, ..Limits::default() };
    let out = match sim.run(&stream.inputs, n, &stalls, &limits) {
        Ok(o) => o,
        Err(e) => {
            let beats_ok_before = match &e {
                sim::SimError::Stalled(s) => {
                    let w = lib.out_words();
                    let got = s.outputs.len() / w.max(1);
                    let ok = (0..got).all(|i| decode(&s.outputs[i * w..(i + 1) * w], &stream.fields) == stream.beats[i]);
                    ok.then_some(got)
                }
                _ => None,
            };
            drop(sim);
            return Ok(Err(Failure::Sim { unit: unit.into(), error: e.to_string(), beats_ok_before }));
        }
    };
    // A surplus beat after the last expected one (an extra output, a duplicated label).
    let tail = sim.run_cycles(&[], TAIL_CYCLES, &sim::Stalls::none());
    let surplus = match tail {
        Ok(t) if !t.outputs.is_empty() => Some(format!(
            "{} surplus output beat(s) after the {n} expected ones, the first in cycle {}",
            t.outputs.len(),
            t.output_cycles[0]
        )),
        Ok(_) => None,
        Err(e) => Some(e.to_string()),
    };
    let cycles = sim.cycle() - start;
    sim.close()?;
    let mut first = None;
    let mut wrong = 0;
    for (i, beat) in out.outputs.iter().enumerate() {
        let got = decode(beat, &stream.fields);
        if got != stream.beats[i] {
            wrong += 1;
            if first.is_none() {
                first = Some((i, got));
            }
        }
    }
    if let Some((i, got)) = first {
        return Ok(Err(Failure::Mismatch(Mismatch {
            unit: unit.into(),
            beat: i,
            context: context(i),
            cycle: out.output_cycles[i],
            run_cycle: out.output_cycles[i] - start,
            expected: stream.beats[i].clone(),
            got,
            fields: stream.fields.clone(),
            wrong_beats: wrong,
            total_beats: n,
        })));
    }
    if let Some(error) = surplus {
        return Ok(Err(Failure::Sim { unit: unit.into(), error, beats_ok_before: Some(n) }));
    }
    Ok(Ok(Outcome { transactions: (stream.in_beats + n) as u64, cycles }))
}

/// A field value in decimal, with its two's complement reading when the top bit is set.
fn show(v: u64, bits: usize) -> String {
    if bits > 1 && bits < 64 && (v >> (bits - 1)) & 1 == 1 {
        format!("{v} (signed {})", v as i64 - (1i64 << bits))
    } else {
        v.to_string()
    }
}

/// The fields of one output beat.
pub fn decode(beat: &[u32], fields: &[usize]) -> Vec<u64> {
    let mut lo = 0;
    fields
        .iter()
        .map(|&b| {
            let v = bits(beat, lo, b);
            lo += b;
            v
        })
        .collect()
}
