//! Every fast path (each SIMD level this CPU has, one thread and all cores) equals the plain
//! reference implementation on all 624 official test images: the default model and random-weight
//! CNVs at the benchmark's bit widths (8-bit pixels into the first layer, as in `cargo xtask bench`).

use golden_model::{Inference, Level, Model};
use train::Arch;

fn test_images() -> Vec<Vec<u8>> {
    let root = dataset::default_root();
    let test = dataset::Dataset::load(&root, dataset::Split::Test, dataset::DEFAULT_SIZE).expect("vendored test split");
    assert_eq!(test.len(), 624);
    test.samples.into_iter().map(|s| s.pixels).collect()
}

fn check(name: &str, model: &Model, images: &[Vec<u8>]) {
    let refs: Vec<&[u8]> = images.iter().map(|v| v.as_slice()).collect();
    let reference: Vec<Inference> = refs.iter().map(|p| model.infer_reference(p).unwrap()).collect();
    for level in Level::available() {
        let batch = model.infer_batch_at(&refs, level).unwrap();
        let differ = batch.iter().zip(&reference).filter(|(a, b)| a != b).count();
        assert_eq!(differ, 0, "{name}: {differ} of {} images differ from the reference at level {level}", refs.len());
        let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        assert_eq!(one.install(|| model.infer_batch_at(&refs, level).unwrap()), batch, "{name}: 1 thread vs all at {level}");
    }
}

#[test]
fn default_model_fast_equals_reference_on_every_test_image() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/default.qnn.json");
    let model = Model::load(&path).unwrap();
    check("default model", &model, &test_images());
}

#[test]
fn multi_bit_cnvs_fast_equal_reference_on_every_test_image() {
    let images = test_images();
    for (w, a) in [(1, 1), (2, 2), (4, 4), (8, 8), (1, 2), (2, 1)] {
        let model = train::random_model(Arch::Cnv, w, a, 8, 1).unwrap();
        check(&format!("cnv w{w}a{a}"), &model, &images);
    }
}
