//! Errors of building ([`BuildError`]) and simulating ([`SimError`]).

use std::fmt::Write as _;
use std::path::PathBuf;

/// Why a library could not be built or loaded. Each message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(
        "Verilator not found: install it with `apt-get install verilator` (as root) or set VERILATOR_ROOT \
         to a Verilator 5 installation ({detail})"
    )]
    VerilatorNotFound { detail: String },

    #[error(
        "{found} is too old: the simulator bridge needs Verilator 5 (5.006 or newer); install it with `apt-get install verilator` or set VERILATOR_ROOT"
    )]
    VerilatorTooOld { found: String },

    #[error("`{tool}` not found ({detail}): {hint}")]
    ToolMissing { tool: String, detail: String, hint: String },

    #[error("invalid build spec for `{top}`: {problem}")]
    Spec { top: String, problem: String },

    #[error("{what} {}: {error}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        // In the message and not a `source()` (thiserror treats a field named `source` as
        // one): anyhow's `{:#}` would print it twice.
        error: std::io::Error,
    },

    #[error("Verilator rejected `{top}` ({status}); fix the RTL, parameters or flags:\n{log}")]
    Verilate { top: String, status: String, log: String },

    #[error("top `{top}` does not have the stream ports of docs/architecture.md: {problem}")]
    Ports { top: String, problem: String },

    #[error("C++ {step} failed for `{top}` ({status}):\n{log}")]
    Compile { top: String, step: &'static str, status: String, log: String },

    #[error("cannot load {}: {detail}; delete that directory to force a rebuild", path.display())]
    Load { path: PathBuf, detail: String },
}

impl BuildError {
    pub(crate) fn io(what: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        BuildError::Io { what, path: path.into(), error: source }
    }
}

/// Why a simulation could not start or a run did not complete.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("cannot start a simulation of `{top}`: {problem}")]
    Setup { top: String, problem: String },

    #[error(
        "`{top}` reported problems while initialising (initial blocks, $readmemh); check file-path parameters:\n{warnings}"
    )]
    InitWarnings { top: String, warnings: String },

    #[error(
        "input of {words} words is not a whole number of beats: s_axis_tdata is {in_bits} bits, {words_per_beat} words per beat"
    )]
    InputLength { words: usize, words_per_beat: usize, in_bits: u32 },

    #[error("input beat {beat} has bits set above bit {} (s_axis_tdata is {in_bits} bits wide)", in_bits - 1)]
    InputWidth { beat: usize, in_bits: u32 },

    #[error("invalid {which} stall pattern: {problem}")]
    BadPattern { which: &'static str, problem: String },

    #[error("invalid run limits: {0}")]
    BadLimits(String),

    #[error("{}", stall_message(.0))]
    Stalled(Box<Stall>),

    #[error(
        "run of `{top}` hit its limit of {max_cycles} cycles at cycle {cycle}: {inputs_sent} of {inputs_total} input beats \
         accepted, {outputs_received} of {outputs_expected} output beats received; raise the limit or check the design"
    )]
    MaxCycles {
        top: String,
        cycle: u64,
        max_cycles: u64,
        inputs_sent: usize,
        inputs_total: usize,
        outputs_received: usize,
        outputs_expected: usize,
    },

    #[error(
        "`{top}` produced more output beats than the {expected} expected (extra beat at cycle {cycle}, \
         {inputs_sent} of {inputs_total} inputs accepted by then)"
    )]
    UnexpectedOutput {
        top: String,
        cycle: u64,
        expected: usize,
        inputs_sent: usize,
        inputs_total: usize,
        beat: Vec<u32>,
    },

    #[error("`{top}` called $finish at cycle {cycle}")]
    Finished { top: String, cycle: u64 },

    #[error("Verilator runtime error in `{top}` at cycle {cycle}: {message}")]
    Fatal { top: String, cycle: u64, message: String },

    #[error("the simulation of `{top}` is unusable after an earlier Verilator runtime error; create a new Sim")]
    Broken { top: String },

    #[error("the previous run of `{top}` ended with an error; call reset() before running again")]
    NeedsReset { top: String },

    #[error(
        "AXI rule: beat still offered on s_axis when the previous run_cycles ended must be the first beat of the next run \
         (pass the inputs that were not accepted)"
    )]
    PendingBeatMismatch,

    #[error("trace file {}: {error}", path.display())]
    Trace {
        path: PathBuf,
        // In the message and not a `source()` (thiserror treats a field named `source` as
        // one): anyhow's `{:#}` would print it twice.
        error: std::io::Error,
    },
}

/// What the watchdog saw when it ended a run: no beat went in or came out for
/// `watchdog` cycles while work was pending.
#[derive(Debug, Clone)]
pub struct Stall {
    pub top: String,
    /// Cycle at which the run was ended.
    pub cycle: u64,
    pub watchdog: u64,
    pub inputs_sent: usize,
    pub inputs_total: usize,
    pub outputs_received: usize,
    pub outputs_expected: usize,
    /// An input beat was on the bus (tvalid high) waiting for s_axis_tready.
    pub input_waiting: bool,
    /// s_axis_tready / m_axis_tvalid as last sampled.
    pub s_axis_tready: bool,
    pub m_axis_tvalid: bool,
    /// `dbg_probes` as (name, value), in the order the names were given.
    pub probes: Vec<(String, u64)>,
    /// The stage the probes point at, if they do.
    pub suspect: Option<String>,
    /// Output beats received before the stall (flat words).
    pub outputs: Vec<u32>,
}

fn stall_message(s: &Stall) -> String {
    let mut m = format!(
        "simulation of `{}` stalled at cycle {}: no beat accepted or produced for {} cycles (watchdog)",
        s.top, s.cycle, s.watchdog
    );
    if let Some(suspect) = &s.suspect {
        let _ = write!(m, "\n  stalled: {suspect}");
    }
    let in_pending = s.inputs_total - s.inputs_sent;
    let out_pending = s.outputs_expected.saturating_sub(s.outputs_received);
    let _ = write!(m, "\n  input side: {} of {} beats accepted", s.inputs_sent, s.inputs_total);
    if in_pending > 0 {
        if s.input_waiting && !s.s_axis_tready {
            let _ = write!(m, "; inputs pending: the design holds s_axis_tready low");
        } else {
            let _ = write!(m, "; inputs pending");
        }
    }
    let _ = write!(m, "\n  output side: {} of {} beats received", s.outputs_received, s.outputs_expected);
    if out_pending > 0 {
        if !s.m_axis_tvalid {
            let _ = write!(m, "; outputs pending: the design holds m_axis_tvalid low");
        } else {
            let _ = write!(m, "; outputs pending");
        }
    }
    if s.probes.is_empty() {
        let _ = write!(m, "\n  (the top has no dbg_probes, so the stalled stage inside it is unknown)");
    } else {
        let list: Vec<String> = s.probes.iter().map(|(n, v)| format!("{n}={v}")).collect();
        let _ = write!(m, "\n  probes: {}", list.join(", "));
    }
    m
}
