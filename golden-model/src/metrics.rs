//! Binary classification metrics (positive class = 1 = PNEUMONIA) and their computation for a model
//! over labelled images.
//!
//! Degenerate cases: a rate whose denominator is empty (sensitivity without positives, specificity
//! without negatives, AUC without both) is `None`, serialized as JSON `null`, never NaN (which JSON
//! cannot represent). Balanced accuracy is `None` whenever one of its two rates is.

use crate::error::ModelError;
use crate::model::Model;
use serde::{Deserialize, Serialize};

/// Two-sided 95 % standard normal quantile, used for the Wilson interval.
pub const Z_95: f64 = 1.959964;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confusion {
    pub tn: u64,
    pub fp: u64,
    #[serde(rename = "fn")]
    pub fn_: u64,
    pub tp: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub low: f64,
    pub high: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BinaryMetrics {
    pub n: u64,
    pub accuracy: f64,
    /// True positive rate, `tp / (tp + fn)`.
    pub sensitivity: Option<f64>,
    /// True negative rate, `tn / (tn + fp)`.
    pub specificity: Option<f64>,
    /// Mean of sensitivity and specificity.
    pub balanced_accuracy: Option<f64>,
    /// Probability that a random positive scores above a random negative, ties counting 1/2.
    pub auc: Option<f64>,
    pub confusion: Confusion,
    /// Wilson score interval of the accuracy at 95 % (z = [`Z_95`]).
    pub accuracy_ci95: Interval,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetricsError {
    #[error("no samples: metrics need at least one labelled prediction")]
    Empty,
    #[error(
        "{labels} labels, {predicted} predicted labels and {scores} scores: all three must have one entry per sample"
    )]
    LengthMismatch {
        labels: usize,
        predicted: usize,
        scores: usize,
    },
    #[error("{what} of sample {index} is {value}; binary metrics take 0 (NORMAL) or 1 (PNEUMONIA) only")]
    NotBinary {
        what: &'static str,
        index: usize,
        value: u8,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    #[error("model has {0} classes; binary metrics need exactly 2 (NORMAL, PNEUMONIA)")]
    NotBinaryModel(usize),
    #[error("image {index}: {source}")]
    Inference {
        index: usize,
        #[source]
        source: ModelError,
    },
    #[error(transparent)]
    Metrics(#[from] MetricsError),
}

/// Per-image outputs of a model, in image order: true labels, predicted labels, scores
/// (`logit[1] - logit[0]`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Predictions {
    pub labels: Vec<u8>,
    pub predicted: Vec<u8>,
    pub scores: Vec<i64>,
}

impl Predictions {
    pub fn metrics(&self) -> Result<BinaryMetrics, MetricsError> {
        binary_metrics(&self.labels, &self.predicted, &self.scores)
    }
}

/// Runs `model` (fast path) on every `(pixels, label)` pair, on all cores ([`Model::infer_batch`]),
/// keeping image order.
pub fn predict(model: &Model, images: &[(&[u8], u8)]) -> Result<Predictions, EvalError> {
    if model.classes().len() != 2 {
        return Err(EvalError::NotBinaryModel(model.classes().len()));
    }
    let pixels: Vec<&[u8]> = images.iter().map(|(p, _)| *p).collect();
    let inferred = model.infer_batch(&pixels).map_err(|(index, source)| EvalError::Inference { index, source })?;
    Ok(Predictions {
        labels: images.iter().map(|(_, l)| *l).collect(),
        predicted: inferred.iter().map(|r| r.label as u8).collect(),
        scores: inferred.iter().map(|r| r.score()).collect(),
    })
}

/// A model's metrics on one split, with what identifies the model and the data: the JSON written by
/// `cargo xtask eval --json` and read back by reports. Metric fields sit at the top level.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvaluationRecord {
    pub model: String,
    /// [`Model::content_hash`].
    pub model_hash: String,
    pub split: String,
    pub data_root: String,
    /// Content hash of the evaluated images (labels and pixels, in order).
    pub data_hash: String,
    #[serde(flatten)]
    pub metrics: BinaryMetrics,
}

/// [`predict`] followed by [`binary_metrics`].
pub fn evaluate(model: &Model, images: &[(&[u8], u8)]) -> Result<BinaryMetrics, EvalError> {
    Ok(predict(model, images)?.metrics()?)
}

/// Metrics from true labels, predicted labels (both 0/1) and scores (higher = more positive).
pub fn binary_metrics(labels: &[u8], predicted: &[u8], scores: &[i64]) -> Result<BinaryMetrics, MetricsError> {
    if labels.len() != predicted.len() || labels.len() != scores.len() {
        return Err(MetricsError::LengthMismatch {
            labels: labels.len(),
            predicted: predicted.len(),
            scores: scores.len(),
        });
    }
    if labels.is_empty() {
        return Err(MetricsError::Empty);
    }
    for (what, values) in [("label", labels), ("predicted label", predicted)] {
        if let Some((index, &value)) = values.iter().enumerate().find(|(_, v)| **v > 1) {
            return Err(MetricsError::NotBinary { what, index, value });
        }
    }
    let mut c = Confusion::default();
    for (&truth, &guess) in labels.iter().zip(predicted) {
        match (truth, guess) {
            (0, 0) => c.tn += 1,
            (0, _) => c.fp += 1,
            (_, 0) => c.fn_ += 1,
            _ => c.tp += 1,
        }
    }
    let n = labels.len() as u64;
    let correct = c.tp + c.tn;
    let sensitivity = ratio(c.tp, c.tp + c.fn_);
    let specificity = ratio(c.tn, c.tn + c.fp);
    Ok(BinaryMetrics {
        n,
        accuracy: correct as f64 / n as f64,
        sensitivity,
        specificity,
        balanced_accuracy: sensitivity.zip(specificity).map(|(a, b)| (a + b) / 2.0),
        auc: auc(labels, scores),
        confusion: c,
        accuracy_ci95: wilson_interval(correct, n, Z_95),
    })
}

/// Human-readable table: one metric per line, then the confusion matrix.
impl std::fmt::Display for BinaryMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let rate = |v: Option<f64>| v.map_or_else(|| "n/a (class absent)".to_string(), |x| format!("{x:.4}"));
        let c = &self.confusion;
        writeln!(f, "  {:<20} {}", "n", self.n)?;
        writeln!(
            f,
            "  {:<20} {:.4}  (95 % Wilson CI {:.4} .. {:.4})",
            "accuracy", self.accuracy, self.accuracy_ci95.low, self.accuracy_ci95.high
        )?;
        writeln!(f, "  {:<20} {}", "sensitivity", rate(self.sensitivity))?;
        writeln!(f, "  {:<20} {}", "specificity", rate(self.specificity))?;
        writeln!(f, "  {:<20} {}", "balanced accuracy", rate(self.balanced_accuracy))?;
        writeln!(f, "  {:<20} {}", "AUC", rate(self.auc))?;
        writeln!(f, "  confusion matrix       predicted NORMAL  predicted PNEUMONIA")?;
        writeln!(f, "    true NORMAL          {:>16}  {:>19}", c.tn, c.fp)?;
        write!(f, "    true PNEUMONIA       {:>16}  {:>19}", c.fn_, c.tp)
    }
}

fn ratio(num: u64, den: u64) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

/// Wilson score interval for `successes` out of `n` at normal quantile `z`, clamped to [0, 1].
/// `n == 0` gives the uninformative [0, 1].
pub fn wilson_interval(successes: u64, n: u64, z: f64) -> Interval {
    if n == 0 {
        return Interval { low: 0.0, high: 1.0 };
    }
    let n = n as f64;
    let p = successes as f64 / n;
    let z2 = z * z;
    let denominator = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denominator;
    let half = z / denominator * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    Interval {
        low: (centre - half).max(0.0),
        high: (centre + half).min(1.0),
    }
}

/// Area under the ROC curve as the Mann-Whitney statistic `U / (P * N)`, ties counting 1/2, in
/// O(n log n): rank all scores (tied scores share their mean rank) and sum the positives' ranks.
/// Ranks are kept doubled so that mean ranks of ties stay integers and the statistic is exact up to
/// the final division. `None` without at least one positive (label 1) and one negative (label 0).
pub fn auc(labels: &[u8], scores: &[i64]) -> Option<f64> {
    let positives = labels.iter().filter(|&&l| l == 1).count() as u128;
    let negatives = labels.len() as u128 - positives;
    if positives == 0 || negatives == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_unstable_by_key(|&i| scores[i]);
    let mut doubled_rank_sum: u128 = 0;
    let mut start = 0;
    while start < order.len() {
        let score = scores[order[start]];
        let end = start + order[start..].iter().take_while(|&&i| scores[i] == score).count();
        // 1-based ranks start+1 ..= end share the mean rank (start + 1 + end) / 2.
        let doubled_mean_rank = (start + 1 + end) as u128;
        let tied_positives = order[start..end].iter().filter(|&&i| labels[i] == 1).count() as u128;
        doubled_rank_sum += doubled_mean_rank * tied_positives;
        start = end;
    }
    let doubled_u = doubled_rank_sum - positives * (positives + 1);
    Some(doubled_u as f64 / (2 * positives * negatives) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    /// Pairwise definition, O(n^2): the oracle for the rank-based AUC.
    fn auc_pairwise(labels: &[u8], scores: &[i64]) -> Option<f64> {
        let (mut wins, mut pairs) = (0.0, 0.0);
        for (i, &li) in labels.iter().enumerate() {
            for (j, &lj) in labels.iter().enumerate() {
                if li == 1 && lj == 0 {
                    pairs += 1.0;
                    wins += match scores[i].cmp(&scores[j]) {
                        std::cmp::Ordering::Greater => 1.0,
                        std::cmp::Ordering::Equal => 0.5,
                        std::cmp::Ordering::Less => 0.0,
                    };
                }
            }
        }
        (pairs > 0.0).then(|| wins / pairs)
    }

    #[test]
    fn hand_computed_example() {
        // Positives score 3, 1, 1; negatives score 1, -2.
        // Pairs (pos, neg): (3,1) 1, (3,-2) 1, (1,1) 1/2, (1,-2) 1, (1,1) 1/2, (1,-2) 1 -> 5/6.
        let labels = [1, 1, 1, 0, 0];
        let scores = [3, 1, 1, 1, -2];
        let predicted = [1, 0, 1, 1, 0];
        let m = binary_metrics(&labels, &predicted, &scores).unwrap();
        assert_eq!(m.n, 5);
        assert_eq!(
            m.confusion,
            Confusion {
                tn: 1,
                fp: 1,
                fn_: 1,
                tp: 2
            }
        );
        assert!(close(m.accuracy, 0.6));
        assert!(close(m.sensitivity.unwrap(), 2.0 / 3.0));
        assert!(close(m.specificity.unwrap(), 0.5));
        assert!(close(m.balanced_accuracy.unwrap(), 7.0 / 12.0));
        assert!(close(m.auc.unwrap(), 5.0 / 6.0));
    }

    #[test]
    fn all_tied_scores_give_one_half_and_perfect_separation_gives_one() {
        assert_eq!(auc(&[0, 1, 0, 1], &[4, 4, 4, 4]), Some(0.5));
        assert_eq!(auc(&[0, 0, 1, 1], &[-5, -1, 0, 9]), Some(1.0));
        assert_eq!(auc(&[1, 1, 0, 0], &[-5, -1, 0, 9]), Some(0.0));
    }

    #[test]
    fn rank_auc_matches_pairwise_definition() {
        let mut state = 12345u64;
        for n in 2..60 {
            let mut labels = Vec::new();
            let mut scores = Vec::new();
            for _ in 0..n {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                labels.push((state >> 63) as u8);
                // Few distinct scores, so ties are frequent.
                scores.push(((state >> 33) % 7) as i64 - 3);
            }
            match (auc(&labels, &scores), auc_pairwise(&labels, &scores)) {
                (Some(a), Some(b)) => assert!(close(a, b), "n={n}: {a} vs {b}"),
                (a, b) => assert_eq!(a, b),
            }
        }
    }

    #[test]
    fn wilson_interval_known_values() {
        // 8 of 10: p = 0.8, z = 1.959964 -> [0.4902, 0.9433] (closed-form Wilson formula).
        let w = wilson_interval(8, 10, Z_95);
        assert!(
            (w.low - 0.490162).abs() < 1e-6 && (w.high - 0.943318).abs() < 1e-6,
            "{w:?}"
        );
        let w = wilson_interval(81, 100, Z_95);
        assert!(
            (w.low - 0.722212).abs() < 1e-6 && (w.high - 0.874852).abs() < 1e-6,
            "{w:?}"
        );
        // Boundaries stay inside [0, 1] and are not degenerate.
        let w = wilson_interval(0, 10, Z_95);
        assert!(w.low == 0.0 && (w.high - 0.277533).abs() < 1e-6, "{w:?}");
        let w = wilson_interval(10, 10, Z_95);
        assert!(
            (w.low - 0.722467).abs() < 1e-6 && w.high <= 1.0 && w.high > 0.9999,
            "{w:?}"
        );
    }

    #[test]
    fn degenerate_classes_serialize_as_null() {
        let m = binary_metrics(&[0, 0, 0], &[0, 1, 0], &[-1, 2, 0]).unwrap();
        assert_eq!(m.sensitivity, None);
        assert!(close(m.specificity.unwrap(), 2.0 / 3.0));
        assert_eq!((m.balanced_accuracy, m.auc), (None, None));
        let json = serde_json::to_value(&m).unwrap();
        assert_eq!(json["auc"], serde_json::Value::Null);
        assert_eq!(json["sensitivity"], serde_json::Value::Null);
        let m = binary_metrics(&[1, 1], &[1, 1], &[3, 3]).unwrap();
        assert_eq!((m.specificity, m.auc), (None, None));
        assert_eq!(m.sensitivity, Some(1.0));
    }

    #[test]
    fn json_field_names() {
        let m = binary_metrics(&[0, 1], &[0, 1], &[-1, 1]).unwrap();
        let json = serde_json::to_value(&m).unwrap();
        let keys: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
        for k in [
            "n",
            "accuracy",
            "sensitivity",
            "specificity",
            "balanced_accuracy",
            "auc",
            "confusion",
            "accuracy_ci95",
        ] {
            assert!(keys.contains(&k), "missing {k} in {keys:?}");
        }
        assert_eq!(
            json["confusion"],
            serde_json::json!({"tn": 1, "fp": 0, "fn": 0, "tp": 1})
        );
        assert!(json["accuracy_ci95"]["low"].is_number() && json["accuracy_ci95"]["high"].is_number());
        let back: BinaryMetrics = serde_json::from_value(json).unwrap();
        assert_eq!(back, m);
    }

    #[test]
    fn bad_input_is_an_error() {
        assert_eq!(binary_metrics(&[], &[], &[]), Err(MetricsError::Empty));
        assert!(matches!(
            binary_metrics(&[0, 1], &[0], &[0, 0]),
            Err(MetricsError::LengthMismatch { .. })
        ));
        assert_eq!(
            binary_metrics(&[0, 2], &[0, 1], &[0, 0]),
            Err(MetricsError::NotBinary {
                what: "label",
                index: 1,
                value: 2
            })
        );
        assert!(matches!(
            binary_metrics(&[0, 1], &[0, 7], &[0, 0]),
            Err(MetricsError::NotBinary {
                what: "predicted label",
                ..
            })
        ));
    }

    /// 2x2x1 input, identity quantizer, logits `[100, pixel0]`: score = pixel0 - 100.
    fn threshold_model() -> Model {
        use crate::ops::{Dense, InputQuant, MatVec, OutputStage};
        use crate::value::{ActType, WeightType};
        let weights = ndarray::Array2::from_shape_vec((2, 4), vec![0, 0, 0, 0, 1, 0, 0, 0]).unwrap();
        let mv = MatVec::new(
            ActType { bits: 8 },
            WeightType { bits: 8 },
            weights,
            OutputStage::Bias(vec![100, 0]),
        )
        .unwrap();
        let layers = vec![
            crate::Layer {
                name: "quant".into(),
                op: crate::Op::InputQuant(InputQuant::identity(1)),
            },
            crate::Layer {
                name: "logits".into(),
                op: crate::Op::Dense(Dense::new(mv)),
            },
        ];
        let classes = vec!["NORMAL".into(), "PNEUMONIA".into()];
        Model::new(
            "threshold",
            crate::Shape::new(2, 2, 1),
            classes,
            layers,
            Default::default(),
        )
        .unwrap()
    }

    #[test]
    fn evaluate_runs_the_model_on_every_image_in_order() {
        let model = threshold_model();
        let pixels: Vec<[u8; 4]> = (0..40u8).map(|i| [i * 6, 1, 2, 3]).collect();
        let images: Vec<(&[u8], u8)> = pixels.iter().map(|p| (&p[..], u8::from(p[0] >= 90))).collect();
        let p = predict(&model, &images).unwrap();
        let expected_scores: Vec<i64> = pixels.iter().map(|p| p[0] as i64 - 100).collect();
        assert_eq!(p.scores, expected_scores);
        // Label 1 iff pixel0 > 100 (a tie at 100 would go to class 0; no pixel0 is 100 here).
        let expected_pred: Vec<u8> = pixels.iter().map(|p| u8::from(p[0] > 100)).collect();
        assert_eq!(p.predicted, expected_pred);
        let m = evaluate(&model, &images).unwrap();
        // Truth is pixel0 >= 90, prediction pixel0 > 100: pixels 90 and 96 are the false negatives.
        assert_eq!(
            m.confusion,
            Confusion {
                tn: 15,
                fp: 0,
                fn_: 2,
                tp: 23
            }
        );
        assert_eq!(m.auc, Some(1.0));
    }

    #[test]
    fn evaluate_reports_the_image_with_the_wrong_shape() {
        let model = threshold_model();
        let good = [0u8; 4];
        let bad = [0u8; 5];
        let err = evaluate(&model, &[(&good, 0), (&good, 1), (&bad, 1)]).unwrap_err();
        assert!(matches!(err, EvalError::Inference { index: 2, .. }), "{err:?}");
        assert!(err.to_string().contains("image 2"), "{err}");
        assert!(matches!(
            evaluate(&model, &[]),
            Err(EvalError::Metrics(MetricsError::Empty))
        ));
    }
}
