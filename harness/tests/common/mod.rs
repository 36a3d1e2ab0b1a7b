//! A hand-made, plausible report of a small CNV accelerator, shared by the render, gate and sweep tests
//! (`report::build` is what makes real ones).

#![allow(dead_code)]

use golden_model::metrics::binary_metrics;
use harness::report::*;
use rtlgen::{Folding, LayerFold, Resources};
use harness::synth::{Counts, Utilization};

/// Metrics of `n` images where the first `wrong` predictions are flipped.
pub fn metrics(n: usize, wrong: usize) -> golden_model::metrics::BinaryMetrics {
    let labels: Vec<u8> = (0..n).map(|i| u8::from(i % 8 >= 3)).collect();
    let predicted: Vec<u8> = labels.iter().enumerate().map(|(i, &l)| if i < wrong { 1 - l } else { l }).collect();
    let scores: Vec<i64> = predicted
        .iter()
        .enumerate()
        .map(|(i, &p)| if p == 1 { 5 + (i % 7) as i64 } else { -5 - (i % 5) as i64 })
        .collect();
    binary_metrics(&labels, &predicted, &scores).unwrap()
}

pub fn report() -> Report {
    let names = ["input", "conv0", "pool0", "conv1", "pool1", "dense0", "logits"];
    let mv = [None, Some((4, 3)), None, Some((8, 16)), None, Some((4, 32)), Some((1, 16))];
    let total = Counts { lut: 24_310, ff: 19_870, bram36: 6, bram18: 3, uram: 0, dsp: 0, carry: 812 };
    let golden = metrics(624, 90);
    Report {
        schema: SCHEMA.into(),
        model: ModelInfo {
            name: "cnv-w1a1-seed0".into(),
            file: "models/default.qnn.json".into(),
            hash: "3f1c9a0e5b7d2c4a6e8f0a1b2c3d4e5f60718293a4b5c6d7e8f9012345678901".into(),
            arch: Some("cnv".into()),
            wbits: 1,
            abits: 1,
            in_bits: 8,
            layers: names.iter().map(|n| format!("{n}: ...")).collect(),
            parameters: 123_456,
        },
        accuracy: Accuracy {
            split: "test".into(),
            golden: golden.clone(),
            rtl: RtlAccuracy { metrics: golden, mismatches: 0, mismatched_images: vec![] },
        },
        latency: Latency {
            clock_mhz: 200.0,
            latency_cycles: 41_234,
            ii_cycles: 16_384,
            fps: 200e6 / 16_384.0,
            latency_us: 41_234.0 / 200.0,
            ii_estimated: 16_384,
            latency_estimated: 40_000,
            layers: names
                .iter()
                .enumerate()
                .map(|(i, n)| LayerLatency {
                    name: n.to_string(),
                    cycles_measured: 16_000 + 37 * i as u64,
                    cycles_estimated: 16_000,
                })
                .collect(),
        },
        resources: ResourceReport {
            synthesized: true,
            tool: "Yosys 0.23 (git sha1 7ce5011c24b); synth_xilinx -family xcup -abc9 -noiopad".into(),
            synth: Some(harness::synth::SynthOptions::default()),
            device: harness::synth::DEVICE.into(),
            utilization_pct: Utilization::of(&total),
            total,
            layers: names
                .iter()
                .enumerate()
                .map(|(i, n)| LayerResources {
                    name: n.to_string(),
                    measured: Counts {
                        lut: 1_000 * (i as u64 + 1),
                        ff: 800 * (i as u64 + 1),
                        bram36: i as u64 % 2,
                        bram18: 1,
                        ..Default::default()
                    },
                    estimated: Resources { lut: 1_100 * (i as u64 + 1), ff: 700 * (i as u64 + 1), bram18: 2, dsp: 0 },
                })
                .collect(),
            critical_path_estimate_ns: Some(3.412),
            critical_path_note: "Yosys `sta` with 7-series delays; no arcs through CARRY/MUXF/RAM cells: an estimate"
                .into(),
        },
        folding: Folding {
            in_pixels: 4,
            layers: mv.iter().map(|f| f.map(|(pe, simd)| LayerFold::new(pe, simd))).collect(),
            fifo_depth: 32,
            fifo_depths: vec![],
        },
        provenance: ReportProvenance {
            git_commit: "2e16485aa0c4d1b2e3f405162738495a6b7c8d9e".into(),
            git_dirty: false,
            model_hash: "3f1c9a0e5b7d2c4a6e8f0a1b2c3d4e5f60718293a4b5c6d7e8f9012345678901".into(),
            tools: Tools {
                verilator: "Verilator 5.020".into(),
                yosys: "Yosys 0.23".into(),
                rustc: "rustc 1.95.0".into(),
            },
            seed: 1,
            date: "2025-01-02T03:04:05Z".into(),
        },
    }
}

/// JSON trees equal up to one-ulp float differences: serde_json's default float parser is not
/// always correctly rounded (it has a `float_roundtrip` feature this workspace does not enable).
pub fn assert_json_close(a: &serde_json::Value, b: &serde_json::Value, path: &str) {
    use serde_json::Value::*;
    match (a, b) {
        (Number(x), Number(y)) if x.is_f64() || y.is_f64() => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            assert!((x - y).abs() <= 1e-12 * x.abs().max(y.abs()).max(1.0), "{path}: {x} vs {y}");
        }
        (Array(x), Array(y)) => {
            assert_eq!(x.len(), y.len(), "{path}: lengths");
            for (i, (x, y)) in x.iter().zip(y).enumerate() {
                assert_json_close(x, y, &format!("{path}[{i}]"));
            }
        }
        (Object(x), Object(y)) => {
            assert_eq!(x.keys().collect::<Vec<_>>(), y.keys().collect::<Vec<_>>(), "{path}: keys");
            for (k, v) in x {
                assert_json_close(v, &y[k], &format!("{path}.{k}"));
            }
        }
        _ => assert_eq!(a, b, "{path}"),
    }
}
