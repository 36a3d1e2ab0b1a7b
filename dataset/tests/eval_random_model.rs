//! Evaluation of a (random) model on the vendored test split: the metrics path the `eval` command
//! uses, checked against a plain loop over the reference implementation.

#[path = "common/random_model.rs"]
mod random_model;

use dataset::{Dataset, Split, default_root};
use golden_model::Model;
use golden_model::metrics::{binary_metrics, evaluate};

#[test]
fn metrics_of_a_saved_model_match_a_reference_loop() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("random.qnn.json");
    random_model::random_model(64, 7).save(&path).unwrap();
    let model = Model::load(&path).unwrap();
    let size = model.input_shape().height;
    let data = Dataset::load(&default_root(), Split::Test, size).unwrap();

    let images: Vec<(&[u8], u8)> = data.samples.iter().map(|s| (s.pixels.as_slice(), s.label)).collect();
    let metrics = evaluate(&model, &images).unwrap();

    let (mut predicted, mut scores) = (vec![], vec![]);
    for s in &data.samples {
        let inference = model.infer_reference(&s.pixels).unwrap();
        predicted.push(inference.label as u8);
        scores.push(inference.score());
    }
    let expected = binary_metrics(&data.labels(), &predicted, &scores).unwrap();
    assert_eq!(metrics, expected);
    let c = metrics.confusion;
    assert_eq!((metrics.n, c.tn + c.fp, c.fn_ + c.tp), (624, 234, 390));
}
