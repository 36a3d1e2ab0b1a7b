//! `verilator --lint-only -Wall` of the RTL library (each module at several parameter sets, edge
//! cases included) and of generated tops. Lint must be clean: any warning is a failure.

use rtlgen::{self, Accelerator};
use std::path::PathBuf;
use std::process::Command;

#[derive(Clone, Debug)]
pub struct Target {
    pub name: String,
    pub top: String,
    pub sources: Vec<PathBuf>,
    pub params: Vec<(String, i64)>,
}

fn module(top: &str, params: &[(&str, i64)]) -> Target {
    let p: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
    Target {
        name: format!("{top}({})", p.join(", ")),
        top: top.into(),
        sources: rtlgen::rtl_sources(),
        params: params.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
    }
}

/// Every library module at parameter sets covering its modes and edge cases.
pub fn library_targets() -> Vec<Target> {
    let mut v = vec![];
    for (w, a, o) in [(1, 1, 1), (1, 8, 1), (2, 2, 2), (4, 4, 4), (8, 8, 8), (4, 1, 0), (1, 1, 0)] {
        v.push(module("mvtu", &[("MW", 32), ("MH", 8), ("PE", 4), ("SIMD", 8), ("WBITS", w), ("ABITS", a), ("OBITS", o), ("ACC_BITS", 20), ("USE_BRAM", 0)]));
    }
    v.push(module("mvtu", &[("MW", 64), ("MH", 16), ("PE", 16), ("SIMD", 64), ("WBITS", 1), ("ABITS", 1), ("OBITS", 1), ("ACC_BITS", 8), ("USE_BRAM", 1)]));
    v.push(module("mvtu", &[("MW", 9), ("MH", 3), ("PE", 1), ("SIMD", 1), ("WBITS", 2), ("ABITS", 8), ("OBITS", 2), ("ACC_BITS", 14), ("USE_BRAM", 0)]));
    // Several vectors per beat; deep adder trees; searched thresholds with and without block RAM.
    v.push(module("mvtu", &[("MW", 18), ("MH", 4), ("PE", 4), ("SIMD", 18), ("MMV", 2), ("WBITS", 1), ("ABITS", 1), ("OBITS", 1), ("ACC_BITS", 6), ("USE_BRAM", 0)]));
    v.push(module("mvtu", &[("MW", 12), ("MH", 2), ("PE", 2), ("SIMD", 12), ("MMV", 3), ("WBITS", 1), ("ABITS", 2), ("OBITS", 4), ("ACC_BITS", 7), ("USE_BRAM", 0)]));
    v.push(module("mvtu", &[("MW", 72), ("MH", 2), ("PE", 1), ("SIMD", 36), ("WBITS", 4), ("ABITS", 2), ("OBITS", 2), ("ACC_BITS", 12), ("USE_BRAM", 0)]));
    v.push(module("mvtu", &[("MW", 400), ("MH", 4), ("PE", 2), ("SIMD", 200), ("WBITS", 1), ("ABITS", 1), ("OBITS", 1), ("ACC_BITS", 10), ("USE_BRAM", 0)]));
    v.push(module("mvtu", &[("MW", 8), ("MH", 4), ("PE", 2), ("SIMD", 4), ("WBITS", 4), ("ABITS", 4), ("OBITS", 8), ("ACC_BITS", 10), ("USE_BRAM", 0), ("THRESH_BRAM", 1)]));
    v.push(module("mvtu", &[("MW", 4), ("MH", 2), ("PE", 2), ("SIMD", 4), ("MMV", 2), ("WBITS", 4), ("ABITS", 4), ("OBITS", 0), ("ACC_BITS", 12), ("USE_BRAM", 0)]));
    for (k, h, w, c, p, e) in [(3, 6, 8, 2, 2, 1), (3, 5, 5, 3, 1, 2), (5, 6, 8, 1, 4, 1), (1, 3, 4, 2, 2, 8), (3, 3, 3, 1, 1, 1)] {
        v.push(module("sliding_window_par", &[("K", k), ("IFM_H", h), ("IFM_W", w), ("CHANNELS", c), ("PIXELS", p), ("EBITS", e)]));
    }
    for (h, w, c, p, e) in [(4, 4, 2, 2, 1), (5, 6, 3, 2, 4), (3, 4, 2, 4, 8)] {
        v.push(module("maxpool_par", &[("IFM_H", h), ("IFM_W", w), ("CHANNELS", c), ("PIXELS", p), ("EBITS", e)]));
    }
    for (k, h, w, c, s, e) in [(3, 8, 8, 4, 2, 1), (1, 5, 7, 3, 3, 4), (5, 9, 6, 2, 1, 8), (3, 3, 3, 1, 1, 2)] {
        v.push(module("sliding_window", &[("K", k), ("IFM_H", h), ("IFM_W", w), ("CHANNELS", c), ("SIMD", s), ("EBITS", e)]));
    }
    for (h, w, c, p, e) in [(4, 4, 4, 2, 1), (5, 7, 6, 3, 4), (2, 2, 1, 1, 8)] {
        v.push(module("maxpool", &[("IFM_H", h), ("IFM_W", w), ("CHANNELS", c), ("PE", p), ("EBITS", e)]));
    }
    for (l, c, o) in [(1, 1, 8), (8, 1, 1), (4, 2, 2), (6, 3, 4)] {
        v.push(module("input_quant", &[("LANES", l), ("CHANNELS", c), ("OBITS", o)]));
    }
    for (i, o, e) in [(4, 1, 2), (1, 4, 1), (8, 8, 3), (2, 6, 4)] {
        v.push(module("stream_width_converter", &[("IN_ELEMS", i), ("OUT_ELEMS", o), ("EBITS", e)]));
    }
    for (w, d) in [(8, 2), (1, 32), (16, 33), (7, 300)] {
        v.push(module("stream_fifo", &[("WIDTH", w), ("DEPTH", d)]));
    }
    for (n, p, a) in [(2, 1, 12), (2, 2, 20), (10, 5, 32)] {
        v.push(module("label_select", &[("NUM_CLASSES", n), ("PE", p), ("ACC_BITS", a)]));
    }
    v
}

/// The generated core, its simulation wrapper and every per-layer top.
pub fn accelerator_targets(acc: &Accelerator) -> Vec<Target> {
    let lib = rtlgen::rtl_sources();
    let with = |extra: Vec<PathBuf>| lib.iter().cloned().chain(extra).collect::<Vec<_>>();
    let mut v = vec![
        Target { name: rtlgen::CORE.into(), top: rtlgen::CORE.into(), sources: with(vec![acc.core_file()]), params: vec![] },
        Target {
            name: rtlgen::SIM_TOP.into(),
            top: rtlgen::SIM_TOP.into(),
            sources: with(vec![acc.core_file(), acc.sim_top_file()]),
            params: vec![],
        },
    ];
    for t in &acc.layer_tops {
        v.push(Target { name: t.module.clone(), top: t.module.clone(), sources: with(vec![acc.layer_file(t)]), params: vec![] });
    }
    v
}

/// Lints one target; `Err` carries Verilator's warnings.
pub fn lint(t: &Target) -> anyhow::Result<Result<(), String>> {
    let v = sim::find_verilator()?;
    let mut cmd = Command::new(&v.path);
    cmd.args(["--lint-only", "-Wall", "--top-module", &t.top]);
    for (k, val) in &t.params {
        cmd.arg(format!("-G{k}={val}"));
    }
    cmd.args(&t.sources);
    let out = cmd.output().map_err(|e| anyhow::anyhow!("cannot run {}: {e}", v.path.display()))?;
    let text = String::from_utf8_lossy(&out.stderr).trim().to_string();
    Ok(if out.status.success() && text.is_empty() { Ok(()) } else { Err(text) })
}
