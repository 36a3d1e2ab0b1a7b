//! The model file: round trip, random corruptions (never a panic, never a silently different model),
//! and checksum-consistent but invalid content (an error naming layer and field).

use base64::Engine;
use golden_model::file::checksum_of;
use golden_model::{Model, ModelError, testing};
use proptest::prelude::*;
use serde_json::{Value, json};

fn config() -> ProptestConfig {
    ProptestConfig { cases: testing::cases(256), ..ProptestConfig::default() }
}

#[derive(Debug, Clone)]
enum Corruption {
    Truncate(usize),
    Flip(usize, u8),
    Delete(usize, usize),
    Insert(usize, u8),
}

fn corruption() -> impl Strategy<Value = Corruption> {
    prop_oneof![
        any::<usize>().prop_map(Corruption::Truncate),
        (any::<usize>(), 1u8..=255).prop_map(|(i, x)| Corruption::Flip(i, x)),
        (any::<usize>(), 1usize..=16).prop_map(|(i, n)| Corruption::Delete(i, n)),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Corruption::Insert(i, b)),
    ]
}

fn apply(bytes: &mut Vec<u8>, c: &Corruption) {
    let n = bytes.len();
    // An earlier corruption may have emptied the file; only an insertion still has somewhere to go.
    if n == 0 && !matches!(c, Corruption::Insert(..)) {
        return;
    }
    match *c {
        Corruption::Truncate(i) => bytes.truncate(i % n),
        Corruption::Flip(i, x) => bytes[i % n] ^= x,
        Corruption::Delete(i, k) => {
            let s = i % n;
            bytes.drain(s..(s + k).min(n));
        }
        Corruption::Insert(i, b) => bytes.insert(i % (n + 1), b),
    }
}

#[test]
fn corruptions_apply_to_an_emptied_file() {
    // CI once drew Truncate to length 0 followed by Delete, and the test itself panicked.
    let mut bytes = b"{}".to_vec();
    for c in [Corruption::Truncate(2), Corruption::Delete(7, 3), Corruption::Flip(1, 1), Corruption::Insert(5, b'x')] {
        apply(&mut bytes, &c);
    }
    assert_eq!(bytes, b"x");
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn round_trip_is_identity(model in testing::model()) {
        let back = Model::from_json(&model.to_json()).unwrap();
        prop_assert_eq!(&back, &model);
        prop_assert_eq!(back.content_hash(), model.content_hash());
    }

    #[test]
    fn corrupted_files_are_rejected_or_unchanged(model in testing::model(), cs in prop::collection::vec(corruption(), 1..=3)) {
        let mut bytes = model.to_json().into_bytes();
        for c in &cs {
            apply(&mut bytes, c);
        }
        let parsed = std::str::from_utf8(&bytes).map_err(|e| e.to_string()).and_then(|t| Model::from_json(t).map_err(|e| e.to_string()));
        if let Ok(m) = parsed {
            // Only a change the canonical form ignores (whitespace) may load, and then to the same model.
            prop_assert_eq!(m, model);
        }
    }
}

/// A valid model document to mutate.
fn doc() -> Value {
    let model = proptest::strategy::ValueTree::current(
        &testing::model().new_tree(&mut proptest::test_runner::TestRunner::deterministic()).unwrap(),
    );
    serde_json::from_str(&model.to_json()).unwrap()
}

fn load_mutated(f: impl FnOnce(&mut Value)) -> ModelError {
    let mut d = doc();
    f(&mut d);
    let sum = checksum_of(&d);
    d["checksum"] = json!(sum);
    Model::from_json(&d.to_string()).expect_err("mutated model must be rejected")
}

fn layer_index(d: &Value, op: &str) -> usize {
    d["layers"].as_array().unwrap().iter().position(|l| l["op"] == op).unwrap()
}

#[test]
fn checksum_mismatch_is_reported() {
    let mut d = doc();
    d["name"] = json!("renamed");
    let e = Model::from_json(&d.to_string()).unwrap_err();
    assert!(matches!(e, ModelError::Checksum { .. }), "{e}");
    assert!(e.to_string().contains("corrupt"), "{e}");
}

#[test]
fn unsupported_bit_width_names_the_layer() {
    let e = load_mutated(|d| {
        let i = layer_index(d, "dense");
        d["layers"][i]["weight_bits"] = json!(3);
    });
    let msg = e.to_string();
    assert!(msg.contains("weight_bits = 3"), "{msg}");
}

#[test]
fn wrong_weight_shape_names_the_field() {
    let e = load_mutated(|d| {
        let i = layer_index(d, "dense");
        d["layers"][i]["in_features"] = json!(d["layers"][i]["in_features"].as_u64().unwrap() + 1);
    });
    let msg = e.to_string();
    assert!(msg.contains("weights") && msg.contains("shape"), "{msg}");
}

#[test]
fn unknown_format_version_is_rejected() {
    let e = load_mutated(|d| d["version"] = json!(99));
    assert!(matches!(e, ModelError::Format { version: 99, .. }), "{e}");
}

#[test]
fn descending_thresholds_are_rejected() {
    let e = load_mutated(|d| {
        let t = &mut d["layers"][0]["thresholds"];
        let cols = t["shape"][1].as_u64().unwrap() as usize;
        let rows = t["shape"][0].as_u64().unwrap() as usize;
        // Channel 0 thresholds 5, 4, ... (descending); 1-bit quantizers have one threshold, so
        // make the file claim 2 bits with descending values in that case.
        let cols = if cols == 1 {
            d["layers"][0]["out_bits"] = json!(2);
            3
        } else {
            cols
        };
        let vals: Vec<i32> = (0..rows * cols).map(|i| 200 - i as i32).collect();
        let bytes: Vec<u8> = vals.iter().flat_map(|v| v.to_le_bytes()).collect();
        let t = &mut d["layers"][0]["thresholds"];
        t["shape"] = json!([rows, cols]);
        t["data"] = json!(base64::engine::general_purpose::STANDARD.encode(&bytes));
    });
    let msg = e.to_string();
    assert!(msg.contains("layer 0") && msg.contains("not ascending"), "{msg}");
}

#[test]
fn bit_width_chain_mismatch_is_rejected() {
    let e = load_mutated(|d| {
        let i = layer_index(d, "dense");
        let b = d["layers"][i]["in_bits"].as_u64().unwrap();
        d["layers"][i]["in_bits"] = json!(if b == 8 { 4 } else { 8 });
    });
    assert!(e.to_string().contains("bit"), "{e}");
}

#[test]
fn missing_and_non_utf8_files_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let e = Model::load(dir.path().join("nope.qnn.json")).unwrap_err();
    assert!(matches!(e, ModelError::Io { .. }), "{e}");
    let p = dir.path().join("bin.qnn.json");
    std::fs::write(&p, [0xff, 0xfe, 0x00]).unwrap();
    assert!(Model::load(&p).unwrap_err().to_string().contains("UTF-8"));
}

#[test]
fn save_then_load() {
    let d = doc();
    let m = Model::from_json(&d.to_string()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("sub/m.qnn.json");
    m.save(&p).unwrap();
    assert_eq!(Model::load(&p).unwrap(), m);
}

#[test]
fn float_metrics_in_provenance_survive_the_checksum() {
    let mut m = Model::from_json(&doc().to_string()).unwrap();
    for (i, v) in [0.1 + 0.2, 1.0 / 3.0, 0.8413, 2.2250738585072014e-308, 123456.789e-3].iter().enumerate() {
        m.provenance.metrics.insert(format!("m{i}"), json!(v));
    }
    let back = Model::from_json(&m.to_json()).expect("re-serialised floats keep the checksum");
    assert_eq!(back, m);
}
