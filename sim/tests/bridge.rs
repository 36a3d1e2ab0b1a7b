//! End-to-end tests of the bridge against Debian's Verilator (or whatever VERILATOR_ROOT/PATH
//! name): real verilation, real compilation, real simulation of the designs in tests/rtl/.

use proptest::prelude::*;
use sim::*;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

fn rtl(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/rtl").join(name)
}

fn tmp(name: &str) -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join(name)
}

fn must_build(spec: &BuildSpec) -> Library {
    build(spec).unwrap_or_else(|e| panic!("building {}: {e}", spec.top))
}

fn adder() -> &'static Library {
    static L: OnceLock<Library> = OnceLock::new();
    L.get_or_init(|| must_build(&BuildSpec::new("stream_adder", [rtl("stream_adder.sv")])))
}

fn passthrough(width: i64) -> Library {
    must_build(&BuildSpec::new("wide_passthrough", [rtl("wide_passthrough.sv")]).param_int("WIDTH", width))
}

fn wide130() -> &'static Library {
    static L: OnceLock<Library> = OnceLock::new();
    L.get_or_init(|| passthrough(130))
}

fn pipeline_probes() -> Vec<Probe> {
    vec![Probe::counter("in_beats"), Probe::occupancy("fifo_mid"), Probe::counter("out_beats")]
}

fn pattern() -> impl Strategy<Value = Pattern> {
    prop_oneof![
        Just(Pattern::Always),
        prop::collection::vec(any::<bool>(), 1..12).prop_map(|mut v| {
            if !v.iter().any(|&b| b) {
                v[0] = true;
            }
            Pattern::Repeat(v)
        }),
    ]
}

/// Cycle-exact model of stream_adder under the driver's rules (a beat is offered in the
/// first in_valid-high cycle after the previous one was accepted and held until accepted;
/// tready = out_ready pattern; s_axis_tready = !m_axis_tvalid || m_axis_tready).
fn adder_model(inputs: &[u32], expected: usize, stalls: &Stalls, start: u64) -> (Vec<u32>, Vec<u64>, Vec<u64>) {
    let (mut m_valid, mut m_data, mut sum, mut offering, mut idx) = (false, 0u32, 0u32, false, 0usize);
    let (mut outs, mut in_cycles, mut out_cycles) = (Vec::new(), Vec::new(), Vec::new());
    for k in 0u64.. {
        if idx == inputs.len() && outs.len() == expected {
            break;
        }
        if !offering && idx < inputs.len() && stalls.in_valid.at(k) {
            offering = true;
        }
        let ready = stalls.out_ready.at(k);
        let s_ready = !m_valid || ready;
        let (in_fire, out_fire) = (offering && s_ready, ready && m_valid);
        if out_fire {
            outs.push(m_data);
            out_cycles.push(start + k);
            m_valid = false;
        }
        if in_fire {
            sum = sum.wrapping_add(inputs[idx]);
            m_data = sum;
            m_valid = true;
            in_cycles.push(start + k);
            idx += 1;
            offering = false;
        }
    }
    (outs, in_cycles, out_cycles)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn adder_matches_cycle_model_under_random_stalls(
        inputs in prop::collection::vec(any::<u32>(), 0..60),
        in_valid in pattern(),
        out_ready in pattern(),
    ) {
        let lib = adder();
        let mut sim = Sim::new(lib, SimOptions::default()).unwrap();
        let stalls = Stalls { in_valid, out_ready };
        let start = sim.cycle();
        let out = sim.run(&inputs, inputs.len(), &stalls, &Limits::default()).unwrap();
        let (want, in_cycles, out_cycles) = adder_model(&inputs, inputs.len(), &stalls, start);
        prop_assert_eq!(out.outputs.words(), &want[..]);
        prop_assert_eq!(&out.input_cycles, &in_cycles);
        prop_assert_eq!(&out.output_cycles, &out_cycles);
        prop_assert_eq!(out.start_cycle, start);
        prop_assert_eq!(sim.cycle(), start + out.cycles);
        for &c in &out.output_cycles {
            prop_assert!(stalls.out_ready.at(c - start), "output accepted while tready low");
        }
        // A second run continues the same stream: running sums carry over.
        let more = [5u32, 7];
        let total: u32 = inputs.iter().fold(0u32, |a, &b| a.wrapping_add(b));
        let out2 = sim.run(&more, 2, &stalls, &Limits::default()).unwrap();
        prop_assert_eq!(out2.start_cycle, start + out.cycles);
        prop_assert_eq!(out2.outputs.words(), &[total.wrapping_add(5), total.wrapping_add(12)][..]);
    }

    #[test]
    fn wide_passthrough_preserves_130_bit_beats(
        beats in prop::collection::vec(prop::array::uniform5(any::<u32>()), 1..40),
        in_valid in pattern(),
        out_ready in pattern(),
    ) {
        let lib = wide130();
        prop_assert_eq!(lib.in_words(), 5);
        let words: Vec<u32> = beats.iter().flat_map(|b| { let mut b = *b; b[4] &= 0b11; b }).collect();
        let mut sim = Sim::new(lib, SimOptions::default()).unwrap();
        let out = sim.run(&words, beats.len(), &Stalls { in_valid, out_ready }, &Limits::default()).unwrap();
        prop_assert_eq!(out.outputs.words(), &words[..]);
        prop_assert!(out.input_cycles.windows(2).all(|w| w[0] < w[1]));
        prop_assert!(out.output_cycles.windows(2).all(|w| w[0] < w[1]));
        // The FIFO registers each beat: it leaves at least one cycle after it entered.
        prop_assert!(out.input_cycles.iter().zip(&out.output_cycles).all(|(i, o)| o > i));
    }
}

#[test]
fn every_port_storage_type_round_trips() {
    // 12 bits: SData, 40: QData, 130: VlWide<5> (8 and 32 are covered by other designs).
    for (width, words) in [(12i64, 1usize), (40, 2)] {
        let lib = passthrough(width);
        assert_eq!((lib.in_bits(), lib.out_bits(), lib.in_words()), (width as u32, width as u32, words));
        let mask = (1u64 << width) - 1;
        let values: Vec<u64> = (0..20u64).map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15) & mask).collect();
        let mut sim = Sim::new(&lib, SimOptions::default()).unwrap();
        let out = sim.run(&pack_u64(&values, words), values.len(), &Stalls::none(), &Limits::default()).unwrap();
        assert_eq!(out.outputs.to_u64s(), values, "width {width}");
    }
}

#[test]
fn inputs_of_the_wrong_shape_are_refused() {
    let lib = passthrough(12);
    let mut sim = Sim::new(&lib, SimOptions::default()).unwrap();
    let e = sim.run(&[0x1000], 1, &Stalls::none(), &Limits::default()).unwrap_err();
    assert!(matches!(e, SimError::InputWidth { beat: 0, in_bits: 12 }), "{e}");
    assert!(e.to_string().contains("bits set above bit 11"), "{e}");
    let mut sim = Sim::new(wide130(), SimOptions::default()).unwrap();
    let e = sim.run(&[1, 2, 3], 1, &Stalls::none(), &Limits::default()).unwrap_err();
    assert!(e.to_string().contains("not a whole number of beats"), "{e}");
    let e = sim
        .run(&[], 0, &Stalls { in_valid: Pattern::Repeat(vec![]), ..Stalls::none() }, &Limits::default())
        .unwrap_err();
    assert!(e.to_string().contains("in_valid stall pattern: empty"), "{e}");
    let e = sim
        .run(&[], 0, &Stalls { out_ready: Pattern::parse("000").unwrap(), ..Stalls::none() }, &Limits::default())
        .unwrap_err();
    assert!(e.to_string().contains("never high"), "{e}");
    let e = sim.run(&[], 0, &Stalls::none(), &Limits { watchdog: 0, max_cycles: 10 }).unwrap_err();
    assert!(matches!(e, SimError::BadLimits(_)), "{e}");
    // None of these reached the model, so it is still usable.
    let out = sim.run(&[7, 0, 0, 0, 1], 1, &Stalls::none(), &Limits::default()).unwrap();
    assert_eq!(out.outputs.words(), &[7, 0, 0, 0, 1]);
}

#[test]
fn watchdog_names_the_stuck_fifo() {
    let lib = must_build(&BuildSpec::new("probed_pipeline", [rtl("probed_pipeline.sv")]).param_int("STALL_AFTER", 3));
    assert_eq!(lib.probe_count(), 3);
    let opts = SimOptions { probes: pipeline_probes(), ..SimOptions::default() };
    let mut sim = Sim::new(&lib, opts).unwrap();
    let inputs: Vec<u32> = (1..=10).collect();
    let e = sim.run(&inputs, 10, &Stalls::none(), &Limits { watchdog: 200, max_cycles: 1_000_000 }).unwrap_err();
    let msg = e.to_string();
    let SimError::Stalled(stall) = e else { panic!("expected a stall, got {msg}") };
    // 3 beats passed the broken stage, 4 fill the FIFO in front of it, the rest wait.
    assert_eq!(
        stall.probes,
        vec![("in_beats".to_string(), 7), ("fifo_mid".to_string(), 4), ("out_beats".to_string(), 3)]
    );
    assert_eq!((stall.inputs_sent, stall.outputs_received), (7, 3));
    assert!(stall.input_waiting && !stall.s_axis_tready);
    assert_eq!(stall.outputs, vec![1 ^ 0x5a, 2 ^ 0x5a, 3 ^ 0x5a]);
    assert!(msg.contains("stage reading FIFO `fifo_mid` (holding 4 beats)"), "{msg}");
    assert!(msg.contains("fifo_mid=4"), "{msg}");
    // The watchdog fired 200 idle cycles after the last beat moved.
    assert!(stall.cycle >= 200 && stall.cycle < 300, "stalled at {}", stall.cycle);
    let e = sim.run(&[1], 1, &Stalls::none(), &Limits::default()).unwrap_err();
    assert!(matches!(e, SimError::NeedsReset { .. }), "{e}");
    sim.reset().unwrap();
    assert_eq!(sim.probes()[0], ("in_beats".to_string(), 0));
}

#[test]
fn probes_follow_a_healthy_pipeline() {
    let lib = must_build(&BuildSpec::new("probed_pipeline", [rtl("probed_pipeline.sv")]).param_int("STALL_AFTER", 0));
    let e =
        Sim::new(&lib, SimOptions { probes: vec![Probe::counter("only_one")], ..SimOptions::default() }).unwrap_err();
    assert!(e.to_string().contains("1 probe names given but the top has 3"), "{e}");
    let mut sim = Sim::new(&lib, SimOptions { probes: pipeline_probes(), ..SimOptions::default() }).unwrap();
    let inputs: Vec<u32> = (0..50).map(|i| (i * 37) & 0xff).collect();
    let stalls = Stalls { in_valid: Pattern::parse("1101").unwrap(), out_ready: Pattern::parse("011").unwrap() };
    let out = sim.run(&inputs, 50, &stalls, &Limits::default()).unwrap();
    let want: Vec<u32> = inputs.iter().map(|x| x ^ 0x5a).collect();
    assert_eq!(out.outputs.words(), &want[..]);
    assert_eq!(sim.probe_values(), vec![50, 0, 50]);
}

#[test]
fn watchdog_without_probes_says_which_side_is_stuck() {
    // ACCEPT_LIMIT=3 also checks that an integer -G override reaches the design.
    let lib = must_build(&BuildSpec::new("deadlock", [rtl("deadlock.sv")]).param_int("ACCEPT_LIMIT", 3));
    let mut sim = Sim::new(&lib, SimOptions::default()).unwrap();
    let limits = Limits { watchdog: 50, max_cycles: 10_000 };
    let msg = sim.run(&[1, 2], 1, &Stalls::none(), &limits).unwrap_err().to_string();
    assert!(msg.contains("input side: 2 of 2 beats accepted"), "{msg}");
    assert!(msg.contains("outputs pending: the design holds m_axis_tvalid low"), "{msg}");
    assert!(msg.contains("has no dbg_probes"), "{msg}");
    sim.reset().unwrap();
    let msg = sim.run(&[1, 2, 3, 4, 5], 0, &Stalls::none(), &limits).unwrap_err().to_string();
    assert!(msg.contains("3 of 5 beats accepted; inputs pending: the design holds s_axis_tready low"), "{msg}");
}

#[test]
fn run_limits_and_surplus_outputs_are_errors() {
    let mut sim = Sim::new(adder(), SimOptions::default()).unwrap();
    let e = sim.run(&[1, 2, 3, 4], 1, &Stalls::none(), &Limits::default()).unwrap_err();
    assert!(matches!(&e, SimError::UnexpectedOutput { expected: 1, beat, .. } if beat == &vec![3]), "{e}");
    sim.reset().unwrap();
    // A run ends once its inputs are in and its outputs out; a beat arriving later shows up
    // when the caller keeps watching.
    assert_eq!(sim.run(&[1, 2, 3], 2, &Stalls::none(), &Limits::default()).unwrap().outputs.words(), &[1, 3]);
    assert_eq!(sim.run_cycles(&[], 10, &Stalls::none()).unwrap().outputs.words(), &[6]);
    sim.reset().unwrap();
    let inputs = vec![1u32; 100];
    let e = sim.run(&inputs, 100, &Stalls::none(), &Limits { watchdog: 1000, max_cycles: 10 }).unwrap_err();
    assert!(e.to_string().contains("hit its limit of 10 cycles"), "{e}");
}

#[test]
fn run_cycles_observes_a_fixed_time_and_keeps_axi_beats() {
    let lib = passthrough(16);
    let mut sim = Sim::new(&lib, SimOptions::default()).unwrap();
    // tready high one cycle in ten: the 4-deep FIFO fills, the 5th beat waits on the bus.
    let stalls = Stalls { in_valid: Pattern::Always, out_ready: Pattern::parse("0000000001").unwrap() };
    let inputs: Vec<u32> = (100..110).collect();
    let out = sim.run_cycles(&inputs, 6, &stalls).unwrap();
    assert_eq!(out.cycles, 6);
    assert_eq!(out.input_cycles.len(), 4);
    assert!(out.outputs.is_empty());
    let e = sim.run_cycles(&inputs[5..], 10, &stalls).unwrap_err();
    assert!(matches!(e, SimError::PendingBeatMismatch), "{e}");
    let rest = sim.run_cycles(&inputs[4..], 200, &Stalls::none()).unwrap();
    assert_eq!(rest.outputs.words(), &inputs[..]);
    // Nothing more comes out once drained.
    let idle = sim.run_cycles(&[], 50, &Stalls::none()).unwrap();
    assert!(idle.outputs.is_empty() && idle.cycles == 50);
    // Output buffers grow past their first allocation.
    let many: Vec<u32> = (0..10_000).map(|i| i & 0xffff).collect();
    let out = sim.run_cycles(&many, 10_010, &Stalls::none()).unwrap();
    assert_eq!(out.outputs.words(), &many[..]);
}

#[test]
fn string_parameter_file_is_read_at_run_time_without_rebuild() {
    let hex = tmp("rom_lookup_test.hex");
    let write = |base: u32| {
        let text: String = (0..16u32).map(|i| format!("{:08x}\n", base + i * 3)).collect();
        std::fs::write(&hex, text).unwrap();
    };
    let spec = BuildSpec::new("rom_lookup", [rtl("rom_lookup.sv")])
        .param_str("MEM_FILE", hex.to_str().unwrap())
        .param_int("OFFSET", 5);
    let addrs: Vec<u32> = vec![0, 3, 15, 7];
    write(1000);
    let lib = must_build(&spec);
    let mut sim = Sim::new(&lib, SimOptions::default()).unwrap();
    let out = sim.run(&addrs, 4, &Stalls::none(), &Limits::default()).unwrap();
    assert_eq!(out.outputs.words(), &addrs.iter().map(|a| 1000 + a * 3 + 5).collect::<Vec<_>>()[..]);
    drop(sim);

    // New contents at the same path: same library, new data.
    write(77);
    let again = must_build(&spec);
    assert!(again.from_cache());
    assert_eq!(again.dir(), lib.dir());
    let mut sim = Sim::new(&again, SimOptions::default()).unwrap();
    let out = sim.run(&addrs, 4, &Stalls::none(), &Limits::default()).unwrap();
    assert_eq!(out.outputs.words(), &addrs.iter().map(|a| 77 + a * 3 + 5).collect::<Vec<_>>()[..]);
    drop(sim);

    std::fs::remove_file(&hex).unwrap();
    let e = Sim::new(&again, SimOptions::default()).unwrap_err().to_string();
    assert!(e.contains("$readmem file not found"), "{e}");
    assert!(e.contains("check file-path parameters"), "{e}");
}

#[test]
fn x_initial_unique_depends_on_the_seed_only() {
    let lib = must_build(&BuildSpec::new("xinit", [rtl("xinit.sv")]).x_initial(XInitial::Unique));
    let first = |seed: u64| {
        let mut sim = Sim::new(&lib, SimOptions { seed, ..SimOptions::default() }).unwrap();
        sim.run(&[0, 0], 2, &Stalls::none(), &Limits::default()).unwrap().outputs.into_words()
    };
    let (a, b, a2, c) = (first(1), first(2), first(1), first(3));
    assert_eq!(a, a2, "same seed, same power-up state");
    assert_eq!(a[0], a[1], "junk keeps its value");
    assert!(a[0] != b[0] || a[0] != c[0], "three seeds gave the same 32-bit value {:#x}", a[0]);
}

/// Every variable's value changes, by full hierarchical name, as Surfer's waveform library
/// (wellen) reads them from a VCD or FST file.
fn waveform(path: &Path) -> std::collections::BTreeMap<String, Vec<(u64, String)>> {
    let mut w = wellen::simple::read(path).unwrap_or_else(|e| panic!("wellen cannot read {}: {e:?}", path.display()));
    let h = w.hierarchy();
    let vars: Vec<(String, wellen::SignalRef)> =
        h.all_vars().map(|v| (h[v].full_name(h), h[v].signal_ref())).collect();
    let refs: Vec<wellen::SignalRef> = vars.iter().map(|(_, r)| *r).collect();
    w.load_signals(&refs);
    let times = w.time_table().to_vec();
    vars.into_iter()
        .map(|(name, r)| {
            let sig = w.get_signal(r).expect("loaded");
            let changes = sig
                .iter_changes()
                .map(|(t, v)| (times[t as usize], v.to_bit_string().unwrap_or_else(|| format!("{v}"))))
                .collect();
            (name, changes)
        })
        .collect()
}

fn traced_adder_run(format: TraceFormat, path: &Path) -> RunOutput {
    let lib = must_build(&BuildSpec::new("stream_adder", [rtl("stream_adder.sv")]).trace_format(Some(format)));
    assert_eq!(lib.trace_format(), Some(format));
    let _ = std::fs::remove_file(path);
    let mut sim = Sim::new(&lib, SimOptions { trace: Some(path.to_path_buf()), ..SimOptions::default() }).unwrap();
    let stalls = Stalls { in_valid: Pattern::parse("1101").unwrap(), out_ready: Pattern::parse("011").unwrap() };
    let out = sim.run(&[1, 2, 3, 0xffff_fff0, 7], 5, &stalls, &Limits::default()).unwrap();
    assert!(!path.exists(), "the waveform must not appear before it is complete");
    sim.close().unwrap();
    out
}

#[test]
fn traces_write_vcd_or_fst_with_the_same_waveform_and_change_nothing() {
    let (vcd, fst) = (tmp(&format!("adder_{}.vcd", std::process::id())), tmp(&format!("adder_{}.fst", std::process::id())));
    let untraced = {
        let mut sim = Sim::new(adder(), SimOptions::default()).unwrap();
        let stalls = Stalls { in_valid: Pattern::parse("1101").unwrap(), out_ready: Pattern::parse("011").unwrap() };
        sim.run(&[1, 2, 3, 0xffff_fff0, 7], 5, &stalls, &Limits::default()).unwrap()
    };
    let (by_vcd, by_fst) = (traced_adder_run(TraceFormat::Vcd, &vcd), traced_adder_run(TraceFormat::Fst, &fst));
    assert_eq!(by_vcd, untraced, "tracing to VCD changed the run");
    assert_eq!(by_fst, untraced, "tracing to FST changed the run");

    let text = std::fs::read_to_string(&vcd).unwrap();
    assert!(text.contains("$enddefinitions") && text.contains("s_axis_tdata"), "{}", &text[..text.len().min(500)]);
    let (wv, wf) = (waveform(&vcd), waveform(&fst));
    let sum = wv.iter().find(|(n, _)| n.ends_with("m_axis_tdata")).expect("m_axis_tdata in the VCD").1;
    // The running sums 1, 3, 6, 0xfffffff6, 0xfffffffd appear on m_axis_tdata.
    let last = u32::from_str_radix(&sum.last().unwrap().1, 2).unwrap();
    assert_eq!(last, 0xffff_fffd, "{sum:?}");
    assert!(wv.len() >= 8, "only {} variables in the VCD", wv.len());
    assert_eq!(wf, wv, "FST and VCD of the same run hold different waveforms");
    let (nv, nf) = (std::fs::metadata(&vcd).unwrap().len(), std::fs::metadata(&fst).unwrap().len());
    eprintln!("same run: VCD {nv} bytes, FST {nf} bytes");
    std::fs::remove_file(&vcd).unwrap();
    std::fs::remove_file(&fst).unwrap();
}

#[test]
fn trace_requests_must_match_the_build() {
    let e = Sim::new(adder(), SimOptions { trace: Some(tmp("never.vcd")), ..SimOptions::default() }).unwrap_err();
    assert!(e.to_string().contains("built without --trace"), "{e}");
    let vcd_lib = must_build(&BuildSpec::new("stream_adder", [rtl("stream_adder.sv")]).trace(true));
    assert_ne!(vcd_lib.dir(), adder().dir(), "trace is part of the cache key");
    let e = Sim::new(&vcd_lib, SimOptions { trace: Some(tmp("never.fst")), ..SimOptions::default() }).unwrap_err();
    assert!(e.to_string().contains("writes Vcd waveforms") && e.to_string().contains("*.vcd"), "{e}");
    let e = Sim::new(&vcd_lib, SimOptions { trace: Some(tmp("never.wave")), ..SimOptions::default() }).unwrap_err();
    assert!(e.to_string().contains("name the file *.fst"), "{e}");
    assert!(!tmp("never.fst.partial").exists() && !tmp("never.wave.partial").exists());
}

#[test]
fn finish_and_runtime_errors_do_not_take_the_process_down() {
    let lib = must_build(&BuildSpec::new("finisher", [rtl("finisher.sv")]));
    let mut sim = Sim::new(&lib, SimOptions::default()).unwrap();
    assert_eq!(sim.run(&[1, 2], 2, &Stalls::none(), &Limits::default()).unwrap().outputs.words(), &[1, 2]);
    let e = sim.run(&[3, 0xf1, 4], 3, &Stalls::none(), &Limits::default()).unwrap_err();
    assert!(matches!(e, SimError::Finished { .. }), "{e}");
    let mut sim = Sim::new(&lib, SimOptions::default()).unwrap();
    let e = sim.run(&[0x57], 1, &Stalls::none(), &Limits::default()).unwrap_err();
    assert!(matches!(&e, SimError::Fatal { message, .. } if message.contains("$stop")), "{e}");
    assert!(matches!(sim.reset().unwrap_err(), SimError::Broken { .. }));
    // Other instances of the same library are unaffected.
    let mut fresh = Sim::new(&lib, SimOptions::default()).unwrap();
    assert_eq!(fresh.run(&[9], 1, &Stalls::none(), &Limits::default()).unwrap().outputs.words(), &[9]);
}

#[test]
fn cache_hits_and_keys() {
    let a = adder();
    let b = must_build(&BuildSpec::new("stream_adder", [rtl("stream_adder.sv")]));
    assert!(b.from_cache());
    assert_eq!(a.dir(), b.dir());
    assert_eq!(a.key(), b.key());
    assert!(a.dir().starts_with(default_cache_root()));
    assert!(a.path().is_file());
    let c = must_build(&BuildSpec::new("stream_adder", [rtl("stream_adder.sv")]).param_int("WIDTH", 16));
    assert_ne!(a.key(), c.key());
    assert_eq!(c.in_bits(), 16);
    let mut sim = Sim::new(&c, SimOptions::default()).unwrap();
    let out = sim.run(&[0xffff, 2], 2, &Stalls::none(), &Limits::default()).unwrap();
    assert_eq!(out.outputs.words(), &[0xffff, 1], "16-bit sum wraps");
}

#[test]
fn concurrent_builds_of_one_key_build_once() {
    // A fresh key every run (a harmless define), removed afterwards.
    let nonce = format!(
        "+define+VSIM_TEST_NONCE_{}_{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
    );
    let spec = BuildSpec::new("stream_adder", [rtl("stream_adder.sv")]).flag(nonce);
    let libs: Vec<Library> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..3).map(|_| s.spawn(|| must_build(&spec))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(libs.iter().filter(|l| !l.from_cache()).count(), 1, "exactly one thread builds");
    assert!(libs.iter().all(|l| l.dir() == libs[0].dir()));
    let leftovers: Vec<_> = std::fs::read_dir(default_cache_root())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(&format!(".tmp-{}", &libs[0].key()[..24])))
        .collect();
    assert!(leftovers.is_empty());
    for l in &libs {
        let mut sim = Sim::new(l, SimOptions::default()).unwrap();
        assert_eq!(sim.run(&[4, 4], 2, &Stalls::none(), &Limits::default()).unwrap().outputs.words(), &[4, 8]);
    }
    std::fs::remove_dir_all(libs[0].dir()).unwrap();
}

#[test]
fn failed_builds_name_the_problem_and_publish_nothing() {
    let root = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let builder = Builder::new(find_verilator().unwrap(), root.path());
    let broken = root.path().join("broken.sv");
    std::fs::write(&broken, "module broken(input logic ap_clk;\nendmodule\n").unwrap();
    let e = builder.build(&BuildSpec::new("broken", [&broken])).unwrap_err();
    assert!(matches!(e, BuildError::Verilate { .. }), "{e}");
    assert!(e.to_string().contains("broken.sv:1"), "{e}");

    let e = builder.build(&BuildSpec::new("bad_ports", [rtl("bad_ports.sv")])).unwrap_err();
    assert!(e.to_string().contains("missing port(s) m_axis_tready"), "{e}");

    let e = builder.build(&BuildSpec::new("nope", [root.path().join("missing.sv")])).unwrap_err();
    assert!(e.to_string().contains("cannot read source file"), "{e}");
    let e = builder.build(&BuildSpec::new("a-b", [rtl("stream_adder.sv")])).unwrap_err();
    assert!(e.to_string().contains("plain identifier"), "{e}");

    let published: Vec<String> = std::fs::read_dir(root.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != ".locks" && n != "broken.sv" && !n.starts_with("runtime-"))
        .collect();
    assert!(published.is_empty(), "left behind: {published:?}");
}

#[test]
fn missing_verilator_is_a_clear_error() {
    let bogus = Discovery { verilator_root: Some("/nonexistent/verilator-root".into()), path: None };
    let e = bogus.find().unwrap_err().to_string();
    assert!(
        e.starts_with(
            "Verilator not found: install it with `apt-get install verilator` (as root) or set VERILATOR_ROOT"
        ),
        "{e}"
    );
    assert!(e.contains("/nonexistent/verilator-root has no bin/verilator"), "{e}");
    let empty_path = Discovery { verilator_root: None, path: Some("/nonexistent-bin".into()) };
    let e = empty_path.find().unwrap_err().to_string();
    assert!(e.contains("Verilator not found") && e.contains("no `verilator` on PATH"), "{e}");
}

#[test]
fn installed_verilator_is_described() {
    let v = find_verilator().unwrap();
    assert!(v.number >= MIN_VERSION);
    assert!(v.describe().starts_with(&format!("Verilator {} (", v.version)), "{}", v.describe());
    assert!(v.root.join("include/verilated.h").is_file());
    assert!(adder().runtime_version().starts_with(&v.version), "{} vs {}", adder().runtime_version(), v.version);
}
