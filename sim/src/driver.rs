//! Running a loaded library: stream drivers, stall patterns, watchdog, probes, traces.

use crate::error::Stall;
use crate::ffi::{self, Api, RunArgs, RunResult, status};
use crate::{Library, SimError};
use std::ffi::{CString, c_void};
use std::path::PathBuf;

/// When a driver is willing: every cycle, or following a repeating pattern.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Pattern {
    #[default]
    Always,
    /// Cycle `k` of a run (counted from the run's first cycle) uses `pattern[k % len]`.
    /// Must be non-empty with at least one `true`, or nothing would ever move.
    Repeat(Vec<bool>),
}

impl Pattern {
    /// `"1101"` -> Repeat([true, true, false, true]); other characters are rejected.
    pub fn parse(s: &str) -> Option<Pattern> {
        s.chars()
            .map(|c| match c {
                '1' => Some(true),
                '0' => Some(false),
                _ => None,
            })
            .collect::<Option<Vec<bool>>>()
            .map(Pattern::Repeat)
    }

    /// Whether the pattern is high in cycle `k` of a run.
    pub fn at(&self, k: u64) -> bool {
        match self {
            Pattern::Always => true,
            Pattern::Repeat(p) => p.is_empty() || p[(k % p.len() as u64) as usize],
        }
    }

    fn bytes(&self, which: &'static str) -> Result<Vec<u8>, SimError> {
        match self {
            Pattern::Always => Ok(Vec::new()),
            Pattern::Repeat(p) if p.is_empty() => Err(SimError::BadPattern { which, problem: "empty".into() }),
            Pattern::Repeat(p) if !p.iter().any(|&b| b) => {
                Err(SimError::BadPattern { which, problem: "never high, so no beat could ever move".into() })
            }
            Pattern::Repeat(p) => Ok(p.iter().map(|&b| b as u8).collect()),
        }
    }
}

/// Backpressure and bubbles the testbench inserts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Stalls {
    /// In which cycles a new input beat may be offered (s_axis_tvalid rises). A beat once
    /// offered stays valid, with stable data, until accepted, whatever the pattern says.
    pub in_valid: Pattern,
    /// m_axis_tready in each cycle.
    pub out_ready: Pattern,
}

impl Stalls {
    /// No stalls: inputs offered back to back, outputs always ready.
    pub fn none() -> Stalls {
        Stalls::default()
    }
}

/// Bounds of one [`Sim::run`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// End the run with [`SimError::Stalled`] after this many cycles in which no input beat
    /// was accepted and no output beat received while work is pending. Must be >= 1, which
    /// guarantees every run ends.
    pub watchdog: u64,
    /// End the run with [`SimError::MaxCycles`] after this many cycles.
    pub max_cycles: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { watchdog: 100_000, max_cycles: u64::MAX }
    }
}

/// What a `dbg_probes` field holds, for the watchdog's diagnosis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeKind {
    /// A beat counter of some stream (reported, not interpreted).
    Counter,
    /// A FIFO occupancy. Give these in pipeline order (input to output): in a deadlock the
    /// most downstream non-empty FIFO is the one whose consumer is stuck.
    Occupancy,
}

/// The name of one 32-bit `dbg_probes` field (field `i` is bits `[32*i +: 32]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub name: String,
    pub kind: ProbeKind,
}

impl Probe {
    pub fn counter(name: impl Into<String>) -> Probe {
        Probe { name: name.into(), kind: ProbeKind::Counter }
    }
    pub fn occupancy(name: impl Into<String>) -> Probe {
        Probe { name: name.into(), kind: ProbeKind::Occupancy }
    }
}

/// Options of one simulation instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimOptions {
    /// Seed of Verilator's random generator: the x-initial values of an
    /// [`XInitial::Unique`](crate::XInitial::Unique) build, `$random`, `$urandom`.
    pub seed: u64,
    /// Write a waveform here, FST for `*.fst`, VCD for `*.vcd` (the library must be built with
    /// that [`TraceFormat`](crate::TraceFormat)). It is written as `<path>.partial` and renamed
    /// when the simulation is closed or dropped.
    pub trace: Option<PathBuf>,
    /// Cycles of ap_rst_n low done by [`Sim::new`] and [`Sim::reset`].
    pub reset_cycles: u64,
    /// Names of the `dbg_probes` fields; empty means `probe0`, `probe1`, ... counters.
    pub probes: Vec<Probe>,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions { seed: 1, trace: None, reset_cycles: 8, probes: Vec::new() }
    }
}

/// Beats as flat 32-bit words, `words_per_beat` per beat, least significant word first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Beats {
    words_per_beat: usize,
    words: Vec<u32>,
}

impl Beats {
    pub(crate) fn new(words_per_beat: usize, words: Vec<u32>) -> Beats {
        debug_assert!(words_per_beat > 0 && words.len().is_multiple_of(words_per_beat));
        Beats { words_per_beat, words }
    }
    pub fn len(&self) -> usize {
        self.words.len() / self.words_per_beat.max(1)
    }
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }
    pub fn words_per_beat(&self) -> usize {
        self.words_per_beat
    }
    /// Beat `i` (panics when out of range, like slice indexing).
    pub fn beat(&self, i: usize) -> &[u32] {
        &self.words[i * self.words_per_beat..(i + 1) * self.words_per_beat]
    }
    pub fn iter(&self) -> std::slice::ChunksExact<'_, u32> {
        self.words.chunks_exact(self.words_per_beat.max(1))
    }
    pub fn words(&self) -> &[u32] {
        &self.words
    }
    pub fn into_words(self) -> Vec<u32> {
        self.words
    }
    /// The low 64 bits of each beat.
    pub fn to_u64s(&self) -> Vec<u64> {
        self.iter().map(|b| b[0] as u64 | b.get(1).map_or(0, |&w| (w as u64) << 32)).collect()
    }
}

/// Packs values of up to 64 bits into flat beats of `words_per_beat` words.
pub fn pack_u64(values: &[u64], words_per_beat: usize) -> Vec<u32> {
    let mut out = vec![0u32; values.len() * words_per_beat];
    for (beat, &v) in out.chunks_exact_mut(words_per_beat.max(1)).zip(values) {
        beat[0] = v as u32;
        if let Some(w) = beat.get_mut(1) {
            *w = (v >> 32) as u32;
        }
    }
    out
}

/// Result of a successful run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOutput {
    /// Output beats in arrival order.
    pub outputs: Beats,
    /// Cycle (see [`Sim::cycle`]) in which each accepted input beat transferred.
    pub input_cycles: Vec<u64>,
    /// Cycle in which each output beat transferred.
    pub output_cycles: Vec<u64>,
    /// [`Sim::cycle`] when the run started.
    pub start_cycle: u64,
    /// Cycles the run took.
    pub cycles: u64,
}

/// One simulation instance of a [`Library`].
///
/// Cycle `c` is the `c`-th rising edge of ap_clk since creation, counting reset cycles; a
/// beat "transfers in cycle c" when tvalid and tready are high at that edge.
pub struct Sim {
    lib: Library,
    api: &'static Api,
    handle: *mut c_void,
    reset_cycles: u64,
    probes: Vec<Probe>,
    trace: Option<(PathBuf, PathBuf)>,
    needs_reset: bool,
    /// Input beat left on the bus by `run_cycles` (AXI: it must be the next one offered).
    pending: Option<Vec<u32>>,
}

// The model is only touched through &mut self (or &self reads between calls), and the shim
// re-binds Verilator's per-thread context on every call, so moving a Sim between threads is fine.
unsafe impl Send for Sim {}

impl std::fmt::Debug for Sim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sim").field("top", &self.lib.top()).field("cycle", &self.cycle()).finish()
    }
}

impl Sim {
    /// Creates the model, runs its initial blocks and resets it for `opts.reset_cycles`.
    /// Warnings from initial blocks (e.g. `$readmem file not found`) are an error.
    pub fn new(lib: &Library, opts: SimOptions) -> Result<Sim, SimError> {
        let top = lib.top().to_string();
        let setup = |problem: String| SimError::Setup { top: top.clone(), problem };
        let probes = if opts.probes.is_empty() {
            (0..lib.probe_count()).map(|i| Probe::counter(format!("probe{i}"))).collect()
        } else if opts.probes.len() != lib.probe_count() {
            return Err(setup(format!(
                "{} probe names given but the top has {} dbg_probes fields",
                opts.probes.len(),
                lib.probe_count()
            )));
        } else {
            opts.probes
        };
        let trace = match opts.trace {
            None => None,
            Some(_) if !lib.has_trace() => {
                return Err(setup(
                    "a trace was requested but the library was built without --trace: build it with \
                     BuildSpec::trace_format(Some(TraceFormat::Fst)) (or ::Vcd)"
                        .into(),
                ));
            }
            Some(path) => {
                let wanted = crate::TraceFormat::from_path(&path).map_err(&setup)?;
                let built = lib.trace_format().expect("has_trace");
                if wanted != built {
                    return Err(setup(format!(
                        "the library writes {built:?} waveforms but {} asks for {wanted:?}: name the file *.{} or \
                         build the library with TraceFormat::{wanted:?}",
                        path.display(),
                        built.extension()
                    )));
                }
                let mut partial = path.clone().into_os_string();
                partial.push(".partial");
                let partial = PathBuf::from(partial);
                std::fs::File::create(&partial).map_err(|e| SimError::Trace { path: partial.clone(), error: e })?;
                Some((partial, path))
            }
        };
        let trace_c = match &trace {
            Some((partial, _)) => Some(
                CString::new(partial.as_os_str().as_encoded_bytes())
                    .map_err(|_| setup("trace path contains a NUL byte".into()))?,
            ),
            None => None,
        };
        // Verilator's randSeed is an int and 0 means "seed from the clock": map to 1..2^31-1.
        let seed = (opts.seed % 0x7fff_fffe) as u32 + 1;
        let x_random = (lib.x_initial() == crate::XInitial::Unique) as u32;
        let api = lib.api;
        let mut err = vec![0u8; 4096];
        // SAFETY: arguments are valid for the call; err is a writable buffer of the given size.
        let handle = unsafe {
            (api.create)(
                seed,
                x_random,
                trace_c.as_ref().map_or(std::ptr::null(), |c| c.as_ptr()),
                err.as_mut_ptr().cast(),
                err.len(),
            )
        };
        if handle.is_null() {
            let end = err.iter().position(|&b| b == 0).unwrap_or(err.len());
            if let Some((partial, _)) = &trace {
                let _ = std::fs::remove_file(partial);
            }
            return Err(setup(String::from_utf8_lossy(&err[..end]).into_owned()));
        }
        let mut sim = Sim {
            lib: lib.clone(),
            api,
            handle,
            reset_cycles: opts.reset_cycles,
            probes,
            trace,
            needs_reset: false,
            pending: None,
        };
        let warnings = sim.take_warnings();
        if !warnings.is_empty() {
            sim.discard_trace();
            return Err(SimError::InitWarnings { top, warnings: warnings.trim_end().to_string() });
        }
        sim.reset()?;
        Ok(sim)
    }

    pub fn library(&self) -> &Library {
        &self.lib
    }

    /// Rising edges of ap_clk so far (reset cycles included).
    pub fn cycle(&self) -> u64 {
        // SAFETY: handle is live until drop.
        unsafe { (self.api.cycle)(self.handle) }
    }

    /// Holds ap_rst_n low for `reset_cycles` cycles with both streams idle; clears the
    /// error state of a failed run.
    pub fn reset(&mut self) -> Result<(), SimError> {
        // SAFETY: handle is live until drop.
        let st = unsafe { (self.api.reset)(self.handle, self.reset_cycles) };
        self.pending = None;
        if st != status::DONE {
            return Err(self.status_error(st));
        }
        self.needs_reset = false;
        Ok(())
    }

    /// Current `dbg_probes` fields (empty when the top has none).
    pub fn probe_values(&self) -> Vec<u32> {
        let mut v = vec![0u32; self.lib.probe_count()];
        if !v.is_empty() {
            // SAFETY: v has probe_words entries, as the shim writes.
            unsafe { (self.api.probes)(self.handle, v.as_mut_ptr()) };
        }
        v
    }

    /// Current probes with their names.
    pub fn probes(&self) -> Vec<(String, u64)> {
        self.probes.iter().map(|p| p.name.clone()).zip(self.probe_values().into_iter().map(u64::from)).collect()
    }

    /// Runtime warnings collected since the last call (e.g. from `$readmemh`).
    pub fn take_warnings(&mut self) -> String {
        let (api, h) = (self.api, self.handle);
        // SAFETY: handle is live; read_string passes a valid buffer and its size.
        api.read_string(|buf, len| unsafe { (api.warnings)(h, buf, len, 1) })
    }

    /// Feeds `inputs` (flat words, [`Library::in_words`] per beat) and collects exactly
    /// `expected_outputs` output beats, all in one call into C++. Ends with an error on a
    /// watchdog stall, at `limits.max_cycles`, on an output beyond the expected ones, on
    /// `$finish` or a Verilator runtime error; after an error, [`Sim::reset`] before the next run.
    /// The run stops in the cycle its last expected beat arrives; a surplus beat is caught
    /// while inputs are still pending, and [`Sim::run_cycles`] afterwards shows any that come later.
    pub fn run(
        &mut self,
        inputs: &[u32],
        expected_outputs: usize,
        stalls: &Stalls,
        limits: &Limits,
    ) -> Result<RunOutput, SimError> {
        let n_in = self.check_run(inputs)?;
        if limits.watchdog == 0 {
            return Err(SimError::BadLimits(
                "watchdog must be at least 1 cycle: without it a deadlocked design would hang the run".into(),
            ));
        }
        let vpat = stalls.in_valid.bytes("in_valid")?;
        let rpat = stalls.out_ready.bytes("out_ready")?;
        let ow = self.lib.out_words();
        // One extra slot receives a surplus beat, which is an error worth showing.
        let cap = expected_outputs + 1;
        let mut out_words = vec![0u32; cap * ow];
        let mut out_cycles = vec![0u64; cap];
        let mut in_cycles = vec![0u64; n_in];
        let start_cycle = self.cycle();
        let args = RunArgs {
            in_words: inputs.as_ptr(),
            in_beats: n_in as u64,
            out_words: out_words.as_mut_ptr(),
            in_cycles: in_cycles.as_mut_ptr(),
            out_cycles: out_cycles.as_mut_ptr(),
            out_capacity: cap as u64,
            expected_outputs: expected_outputs as u64,
            in_valid_pattern: ptr_or_null(&vpat),
            in_valid_len: vpat.len() as u64,
            out_ready_pattern: ptr_or_null(&rpat),
            out_ready_len: rpat.len() as u64,
            pattern_phase: 0,
            watchdog: limits.watchdog,
            max_cycles: limits.max_cycles,
            mode: ffi::MODE_UNTIL_DONE,
            reserved: 0,
        };
        let r = self.call_run(&args);
        let sent = r.in_accepted as usize;
        let got = r.out_received as usize;
        let top = self.lib.top().to_string();
        let result = match r.status {
            status::DONE => {
                out_words.truncate(got * ow);
                out_cycles.truncate(got);
                Ok(RunOutput {
                    outputs: Beats::new(ow, out_words),
                    input_cycles: in_cycles,
                    output_cycles: out_cycles,
                    start_cycle,
                    cycles: r.cycles,
                })
            }
            status::STALLED => {
                out_words.truncate(got * ow);
                let probes = self.probes();
                let suspect = suspect(&self.probes, &probes);
                Err(SimError::Stalled(Box::new(Stall {
                    top,
                    cycle: self.cycle(),
                    watchdog: limits.watchdog,
                    inputs_sent: sent,
                    inputs_total: n_in,
                    outputs_received: got,
                    outputs_expected: expected_outputs,
                    input_waiting: r.offering != 0,
                    s_axis_tready: r.s_axis_tready != 0,
                    m_axis_tvalid: r.m_axis_tvalid != 0,
                    probes,
                    suspect,
                    outputs: out_words,
                })))
            }
            status::MAX_CYCLES => Err(SimError::MaxCycles {
                top,
                cycle: self.cycle(),
                max_cycles: limits.max_cycles,
                inputs_sent: sent,
                inputs_total: n_in,
                outputs_received: got,
                outputs_expected: expected_outputs,
            }),
            status::EXTRA_OUTPUT => Err(SimError::UnexpectedOutput {
                top,
                cycle: out_cycles[expected_outputs],
                expected: expected_outputs,
                inputs_sent: sent,
                inputs_total: n_in,
                beat: out_words[expected_outputs * ow..].to_vec(),
            }),
            other => Err(self.status_error(other)),
        };
        if result.is_err() {
            self.needs_reset = true;
        }
        result
    }

    /// Runs exactly `cycles` cycles: offers `inputs` as the in_valid pattern allows and
    /// collects every output beat that appears (no watchdog; nothing is "expected"). Inputs
    /// not accepted by the end are simply not in `input_cycles`; a beat left on the bus must
    /// be the first input of the next run (AXI). Useful to check that no extra output
    /// appears, or to observe a design for a fixed time.
    pub fn run_cycles(&mut self, inputs: &[u32], cycles: u64, stalls: &Stalls) -> Result<RunOutput, SimError> {
        let n_in = self.check_run(inputs)?;
        let vpat = stalls.in_valid.bytes("in_valid")?;
        let rpat = stalls.out_ready.bytes("out_ready")?;
        let (iw, ow) = (self.lib.in_words(), self.lib.out_words());
        let mut cap = cycles.clamp(1, 4096) as usize;
        let mut out_words = vec![0u32; cap * ow];
        let mut out_cycles = vec![0u64; cap];
        let mut in_cycles = vec![0u64; n_in];
        let (mut sent, mut got, mut done) = (0usize, 0usize, 0u64);
        let start_cycle = self.cycle();
        loop {
            let args = RunArgs {
                in_words: inputs[sent * iw..].as_ptr(),
                in_beats: (n_in - sent) as u64,
                out_words: out_words[got * ow..].as_mut_ptr(),
                in_cycles: in_cycles[sent..].as_mut_ptr(),
                out_cycles: out_cycles[got..].as_mut_ptr(),
                out_capacity: (cap - got) as u64,
                expected_outputs: 0,
                in_valid_pattern: ptr_or_null(&vpat),
                in_valid_len: vpat.len() as u64,
                out_ready_pattern: ptr_or_null(&rpat),
                out_ready_len: rpat.len() as u64,
                pattern_phase: done,
                watchdog: 0,
                max_cycles: cycles - done,
                mode: ffi::MODE_EXACT_CYCLES,
                reserved: 0,
            };
            let r = self.call_run(&args);
            sent += r.in_accepted as usize;
            got += r.out_received as usize;
            done += r.cycles;
            match r.status {
                status::OUT_FULL => {
                    cap *= 2;
                    out_words.resize(cap * ow, 0);
                    out_cycles.resize(cap, 0);
                }
                status::DONE => {
                    self.pending = (r.offering != 0).then(|| inputs[sent * iw..(sent + 1) * iw].to_vec());
                    out_words.truncate(got * ow);
                    out_cycles.truncate(got);
                    in_cycles.truncate(sent);
                    return Ok(RunOutput {
                        outputs: Beats::new(ow, out_words),
                        input_cycles: in_cycles,
                        output_cycles: out_cycles,
                        start_cycle,
                        cycles: done,
                    });
                }
                other => {
                    self.needs_reset = true;
                    return Err(self.status_error(other));
                }
            }
        }
    }

    /// Finishes the trace file (renaming it from `<path>.partial`) and frees the model.
    pub fn close(mut self) -> Result<(), SimError> {
        self.destroy();
        if let Some((partial, path)) = self.trace.take() {
            std::fs::rename(&partial, &path).map_err(|e| SimError::Trace { path, error: e })?;
        }
        Ok(())
    }

    fn check_run(&self, inputs: &[u32]) -> Result<usize, SimError> {
        let top = self.lib.top().to_string();
        if self.needs_reset {
            return Err(SimError::NeedsReset { top });
        }
        let iw = self.lib.in_words();
        let bits = self.lib.in_bits();
        if !inputs.len().is_multiple_of(iw) {
            return Err(SimError::InputLength { words: inputs.len(), words_per_beat: iw, in_bits: bits });
        }
        if !bits.is_multiple_of(32) {
            let mask = !0u32 << (bits % 32);
            if let Some(beat) = inputs.chunks_exact(iw).position(|b| b[iw - 1] & mask != 0) {
                return Err(SimError::InputWidth { beat, in_bits: bits });
            }
        }
        if let Some(p) = &self.pending
            && inputs.get(..iw) != Some(p.as_slice())
        {
            return Err(SimError::PendingBeatMismatch);
        }
        Ok(inputs.len() / iw)
    }

    fn call_run(&mut self, args: &RunArgs) -> RunResult {
        let mut r = RunResult::default();
        // SAFETY: every pointer in args addresses a live buffer at least as long as the
        // counts next to it say (inputs n_in*iw words, outputs capacity*ow words, ...).
        unsafe { (self.api.run)(self.handle, args, &mut r) };
        r
    }

    /// The error for a shim status other than DONE.
    fn status_error(&mut self, st: u32) -> SimError {
        let top = self.lib.top().to_string();
        match st {
            status::FINISHED => {
                self.needs_reset = true;
                SimError::Finished { top, cycle: self.cycle() }
            }
            status::FATAL => {
                let (api, h) = (self.api, self.handle);
                // SAFETY: handle is live; read_string passes a valid buffer and its size.
                let message = api.read_string(|buf, len| unsafe { (api.error)(h, buf, len) });
                SimError::Fatal { top, cycle: self.cycle(), message }
            }
            status::BROKEN => SimError::Broken { top },
            other => SimError::Fatal { top, cycle: self.cycle(), message: format!("unexpected shim status {other}") },
        }
    }

    fn destroy(&mut self) {
        if !self.handle.is_null() {
            // SAFETY: handle came from create and is destroyed once.
            unsafe { (self.api.destroy)(self.handle) };
            self.handle = std::ptr::null_mut();
        }
    }

    fn discard_trace(&mut self) {
        self.destroy();
        if let Some((partial, _)) = self.trace.take() {
            let _ = std::fs::remove_file(partial);
        }
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        self.destroy();
        if let Some((partial, path)) = self.trace.take() {
            let _ = std::fs::rename(partial, path);
        }
    }
}

fn ptr_or_null(v: &[u8]) -> *const u8 {
    if v.is_empty() { std::ptr::null() } else { v.as_ptr() }
}

/// In a deadlocked pipeline data piles up in front of the stuck stage and everything after
/// it drains, so the most downstream non-empty FIFO names the stage that stopped.
fn suspect(kinds: &[Probe], values: &[(String, u64)]) -> Option<String> {
    let fifos: Vec<&(String, u64)> =
        kinds.iter().zip(values).filter(|(k, _)| k.kind == ProbeKind::Occupancy).map(|(_, v)| v).collect();
    if fifos.is_empty() {
        return None;
    }
    Some(match fifos.iter().rev().find(|(_, v)| *v > 0) {
        Some((name, v)) => format!("the stage reading FIFO `{name}` (holding {v} beats) is not consuming it"),
        None => {
            "every probed FIFO is empty: the stage in front of the first FIFO is stuck, or it waits for input".into()
        }
    })
}
