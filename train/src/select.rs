//! Validation-side figures and the choice of the decision offset.
//!
//! Scores are the integer logit differences `acc1 - acc0`; with offset `d` the label is 1 iff
//! `score + d > 0` (the exported logit layer has bias `[0, d]`, ties go to class 0).

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ValFigures {
    pub n: usize,
    pub accuracy: f64,
    pub sensitivity: f64,
    pub specificity: f64,
    pub balanced_accuracy: f64,
    pub auc: f64,
}

/// Figures of the labels `score + offset > 0` against `labels` (1 = positive), computed by
/// `golden_model::metrics` (undefined rates, e.g. without positives, count as 0).
pub fn figures(scores: &[i64], labels: &[u8], offset: i64) -> ValFigures {
    let predicted: Vec<u8> = scores.iter().map(|&s| (s + offset > 0) as u8).collect();
    match golden_model::metrics::binary_metrics(labels, &predicted, scores) {
        Ok(m) => ValFigures {
            n: m.n as usize,
            accuracy: m.accuracy,
            sensitivity: m.sensitivity.unwrap_or(0.0),
            specificity: m.specificity.unwrap_or(0.0),
            balanced_accuracy: m.balanced_accuracy.unwrap_or(0.0),
            auc: m.auc.unwrap_or(0.5),
        },
        Err(_) => ValFigures::default(),
    }
}

/// The offset maximising balanced accuracy on (validation) scores. Between two neighbouring distinct
/// scores every offset gives the same labels; the offset picked puts the decision boundary in the
/// middle of the gap. Ties between gaps go to the one nearest `prefer` (the training graph's own bias).
pub fn best_offset(scores: &[i64], labels: &[u8], prefer: i64, limit: i64) -> i64 {
    let mut s: Vec<i64> = scores.to_vec();
    s.sort_unstable();
    s.dedup();
    // Candidate thresholds t (label 1 iff score >= t), offset d = 1 - t.
    let mut cands = vec![s[0], s[s.len() - 1] + 1];
    for w in s.windows(2) {
        cands.push((w[0] + w[1]).div_euclid(2) + 1);
    }
    let npos = labels.iter().filter(|&&l| l == 1).count().max(1) as f64;
    let nneg = labels.iter().filter(|&&l| l != 1).count().max(1) as f64;
    // Balanced accuracy of every candidate by a sweep over sorted scores.
    let mut pairs: Vec<(i64, u8)> = scores.iter().copied().zip(labels.iter().copied()).collect();
    pairs.sort_unstable();
    cands.sort_unstable();
    let mut best: Option<(f64, i64, i64)> = None; // (ba, -distance, offset)
    let mut k = 0;
    let (mut neg_below, mut pos_below) = (0usize, 0usize);
    for &t in &cands {
        while k < pairs.len() && pairs[k].0 < t {
            if pairs[k].1 == 1 { pos_below += 1 } else { neg_below += 1 }
            k += 1;
        }
        let sens = (npos - pos_below as f64) / npos;
        let spec = neg_below as f64 / nneg;
        let ba = (sens + spec) / 2.0;
        let d = (1 - t).clamp(-limit, limit);
        let key = (ba, -(d - prefer).abs(), d);
        if best.is_none_or(|b| key.0 > b.0 + 1e-12 || ((key.0 - b.0).abs() <= 1e-12 && key.1 > b.1)) {
            best = Some(key);
        }
    }
    best.expect("at least one candidate").2
}

/// How the decision offset is chosen from validation scores.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OffsetRule {
    /// Maximum validation balanced accuracy ([`best_offset`]): the boundary sits at the edge of the
    /// validation NORMAL cluster, so any upward drift of NORMAL scores on other data crosses it.
    MaxBalanced,
    /// Boundary halfway between the median validation score of each class ([`median_offset`]):
    /// equal margin to the typical NORMAL and the typical PNEUMONIA image, robust to the tails.
    #[default]
    ClassMedians,
}

impl OffsetRule {
    pub fn name(self) -> &'static str {
        match self {
            OffsetRule::MaxBalanced => "max-balanced",
            OffsetRule::ClassMedians => "class-medians",
        }
    }

    pub fn offset(self, scores: &[i64], labels: &[u8], prefer: i64, limit: i64) -> i64 {
        match self {
            OffsetRule::MaxBalanced => best_offset(scores, labels, prefer, limit),
            OffsetRule::ClassMedians => median_offset(scores, labels, limit),
        }
    }
}

impl std::str::FromStr for OffsetRule {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "max-balanced" => Ok(OffsetRule::MaxBalanced),
            "class-medians" => Ok(OffsetRule::ClassMedians),
            _ => Err(format!("unknown offset rule `{s}` (max-balanced, class-medians)")),
        }
    }
}

/// Median of a non-empty list (mean of the two middle values, rounded towards minus infinity).
fn median(v: &mut [i64]) -> i64 {
    v.sort_unstable();
    let n = v.len();
    if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]).div_euclid(2) }
}

/// The offset putting the decision boundary (`score + d > 0`) halfway between the median score of
/// the negatives and that of the positives: `d = -floor((m0 + m1) / 2)`. Falls back to 0 when a class
/// is missing.
pub fn median_offset(scores: &[i64], labels: &[u8], limit: i64) -> i64 {
    let mut neg: Vec<i64> = scores.iter().zip(labels).filter(|(_, l)| **l != 1).map(|(s, _)| *s).collect();
    let mut pos: Vec<i64> = scores.iter().zip(labels).filter(|(_, l)| **l == 1).map(|(s, _)| *s).collect();
    if neg.is_empty() || pos.is_empty() {
        return 0;
    }
    let (m0, m1) = (median(&mut neg), median(&mut pos));
    (-(m0 + m1).div_euclid(2)).clamp(-limit, limit)
}

#[cfg(test)]
mod tests {
    #[test]
    fn median_offset_is_midway() {
        // negatives median 2, positives median 10 -> boundary 6: score 6 -> 0, 7 -> 1.
        let d = median_offset(&[0, 2, 5, 8, 10, 30], &[0, 0, 0, 1, 1, 1], 1000);
        assert_eq!(d, -6);
        assert_eq!(median_offset(&[1, 2], &[1, 1], 1000), 0);
    }

    use super::*;

    #[test]
    fn figures_known_values() {
        let f = figures(&[1, 3, 2, 4], &[0, 0, 1, 1], -2);
        assert!((f.auc - 0.75).abs() < 1e-12);
        assert_eq!((f.sensitivity, f.specificity, f.accuracy), (0.5, 0.5, 0.5));
    }

    #[test]
    fn best_offset_maximises_balanced_accuracy() {
        // Negatives at 0..10, positives at 6..20: a perfect split does not exist; brute force agrees.
        let mut scores = vec![];
        let mut labels = vec![];
        for s in 0..10 {
            scores.push(s * 3);
            labels.push(0);
        }
        for s in 6..20 {
            scores.push(s * 3 + 1);
            labels.push(1);
        }
        let d = best_offset(&scores, &labels, 0, 1000);
        let got = figures(&scores, &labels, d).balanced_accuracy;
        let brute = (-100..100).map(|d| figures(&scores, &labels, d).balanced_accuracy).fold(0.0, f64::max);
        assert!((got - brute).abs() < 1e-12, "{got} vs {brute}");
        // Separable: boundary mid-gap.
        let d = best_offset(&[0, 10], &[0, 1], 0, 1000);
        assert_eq!(figures(&[0, 10], &[0, 1], d).accuracy, 1.0);
        assert!((-9..=-1).contains(&d), "{d}");
        assert_eq!(d, -5);
    }
}
