//! Networks imported from the Brevitas QONNX fixtures (qonnx/fixtures) through the RTL: on every
//! fixture input the accelerator's label and logits equal the golden model's (streamed back to back and
//! under random AXI-Stream stalls, registers starting random), and the label equals the `qonnx`
//! package's execution of the original graph.

use harness::{accel, cosim, verify};
use qonnx::npy::Npy;
use std::path::PathBuf;

fn check(name: &str) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../qonnx/fixtures").join(name);
    let imp = qonnx::import_file(&dir.join("model.onnx"), &qonnx::Options { input_scale: Some(1.0 / 255.0), ..Default::default() }).unwrap();
    let model = &imp.model;
    let folding = rtlgen::Folding::auto(model, None, rtlgen::Limits::default()).unwrap();
    let acc = accel::prepare(model, &folding).unwrap();
    let lib = cosim::library(&acc, cosim::BuildMode::VERIFY).unwrap();
    let x = Npy::read(dir.join("inputs.npy")).unwrap();
    let expected = Npy::read(dir.join("expected_labels.npy")).unwrap();
    let [n, c, h, w] = x.shape[..] else { panic!("NCHW inputs") };
    let images: Vec<Vec<u8>> = (0..n)
        .map(|i| (0..h * w * c).map(|e| x.data[i * c * h * w + ((e % c) * h + e / (w * c)) * w + (e / c) % w] as u8).collect())
        .collect();
    let refs: Vec<&[u8]> = images.iter().map(|v| v.as_slice()).collect();
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    // Back to back, then under random input bubbles and output backpressure (AXI-Stream stalls).
    let mut s = seed | 1;
    let mut bits = |len: usize, percent: u64| -> Vec<bool> {
        (0..len)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                s % 100 < percent
            })
            .chain(std::iter::once(true))
            .collect()
    };
    let stalled = sim::Stalls { in_valid: sim::Pattern::Repeat(bits(60, 70)), out_ready: sim::Pattern::Repeat(bits(36, 50)) };
    let golden = model.infer_batch(&refs).unwrap();
    for (what, stalls) in [("no stalls", sim::Stalls::none()), ("random stalls", stalled)] {
        let mut sim = cosim::new_sim(&lib, &acc, seed, None).unwrap();
        let rtl = cosim::run_images(&mut sim, &acc, &refs, &stalls, verify::WATCHDOG).unwrap();
        sim.close().unwrap();
        assert_eq!(rtl.len(), n);
        let mut mismatches = 0;
        for i in 0..n {
            if rtl[i].label != golden[i].label || rtl[i].logits != golden[i].logits {
                mismatches += 1;
                eprintln!("{name} ({what}): input {i}: RTL {} {:?}, golden {} {:?}", rtl[i].label, rtl[i].logits, golden[i].label, golden[i].logits);
            }
        }
        eprintln!("{name}: {n} inputs through the RTL ({what}), {mismatches} mismatches (seed {seed})");
        assert_eq!(mismatches, 0, "{name} ({what}): seed {seed}");
    }
    for i in 0..n {
        assert_eq!(golden[i].label, expected.data[i] as usize, "{name}: input {i}: golden vs qonnx");
    }
}

#[test]
fn fc_w1a1_imported_on_rtl() {
    check("fc_w1a1");
}

#[test]
fn fc_w2a2_imported_on_rtl() {
    check("fc_w2a2");
}

#[test]
fn cnv_w1a1_imported_on_rtl() {
    check("cnv_w1a1");
}

#[test]
fn fc_w1a2_imported_on_rtl() {
    check("fc_w1a2");
}

#[test]
fn cnv_w2a2_imported_on_rtl() {
    check("cnv_w2a2");
}
