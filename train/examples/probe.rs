//! Research probe, not part of training or selection: it reads the TEST split. For fixed models it
//! prints the validation and test score distributions, the test figures that different
//! validation-side offset rules would give (class medians, validation specificity 99 % / 95 %) and the
//! test-optimal offset ("oracle", an upper bound that no rule may use). Used for the "What was tried"
//! table of train/README.md.
//!
//!     cargo run --release -p train --example probe -- MODEL.qnn.json...
//!     cargo run --release -p train --example probe -- stats    # pixel statistics per split and class
use dataset::{Dataset, Split};
use golden_model::metrics::predict;
use train::select::{best_offset, figures};

fn q(v: &mut Vec<i64>, p: f64) -> i64 { v.sort(); v[((v.len() - 1) as f64 * p).round() as usize] }

fn main() {
    if std::env::args().nth(1).as_deref() == Some("stats") { stats(); return; }
    let root = dataset::default_root();
    let mut cache: std::collections::HashMap<(usize, bool), Dataset> = Default::default();
    let mut tot = std::collections::BTreeMap::<String, Vec<f64>>::new();
    for f in std::env::args().skip(1) {
        let m = golden_model::Model::load(std::path::Path::new(&f)).unwrap();
        let size = m.input_shape().height;
        let mut sc = |split: Split| {
            let ds = cache.entry((size, split == Split::Test)).or_insert_with(|| Dataset::load(&root, split, size).unwrap());
            let im: Vec<(&[u8], u8)> = ds.samples.iter().map(|s| (s.pixels.as_slice(), s.label)).collect();
            predict(&m, &im).unwrap()
        };
        let v = sc(Split::Val);
        let t = sc(Split::Test);
        let vt = figures(&v.scores, &v.labels, 0);
        let tt = figures(&t.scores, &t.labels, 0);
        let mut ds: Vec<i64> = t.scores.iter().map(|&s| -s).chain([i64::MIN / 4, i64::MAX / 4]).collect();
        ds.sort_unstable();
        ds.dedup();
        let oracle = ds.iter().map(|&d| (figures(&t.scores, &t.labels, d).accuracy, d)).fold((0.0, 0), |a, b| if b.0 > a.0 { b } else { a });
        let neg = |p: &Predictions| p.scores.iter().zip(&p.labels).filter(|(_, l)| **l == 0).map(|(&s, _)| s).collect::<Vec<_>>();
        let pos = |p: &Predictions| p.scores.iter().zip(&p.labels).filter(|(_, l)| **l == 1).map(|(&s, _)| s).collect::<Vec<_>>();
        use golden_model::metrics::Predictions;
        let (mut vn, mut vp, mut tn, mut tp) = (neg(&v), pos(&v), neg(&t), pos(&t));
        // Rules on val only: r1 = midpoint of class medians
        let mid = -(q(&mut vn, 0.5) + q(&mut vp, 0.5)) / 2;
        let r_mid = figures(&t.scores, &t.labels, mid);
        // r2: offset so that val specificity = 0.99 (threshold at 99th pct of val negatives)
        let d99 = -q(&mut vn, 0.99);
        let r99 = figures(&t.scores, &t.labels, d99);
        let d95 = -q(&mut vn, 0.95);
        let r95 = figures(&t.scores, &t.labels, d95);
        let bo = best_offset(&v.scores, &v.labels, 0, 1 << 30);
        let rbo = figures(&t.scores, &t.labels, bo);
        println!("{f}\n  val acc {:.3} ba {:.3} auc {:.4} | test(at model offset) acc {:.3} sens {:.3} spec {:.3} auc {:.4} | oracle acc {:.3} @ {} (best_offset {bo} -> {:.3})",
            vt.accuracy, vt.balanced_accuracy, vt.auc, tt.accuracy, tt.sensitivity, tt.specificity, tt.auc, oracle.0, oracle.1, rbo.accuracy);
        println!("  val neg q10/50/90 {} {} {}  pos q10/50/90 {} {} {}", q(&mut vn, 0.1), q(&mut vn, 0.5), q(&mut vn, 0.9), q(&mut vp, 0.1), q(&mut vp, 0.5), q(&mut vp, 0.9));
        println!("  tst neg q10/50/90 {} {} {}  pos q10/50/90 {} {} {}", q(&mut tn, 0.1), q(&mut tn, 0.5), q(&mut tn, 0.9), q(&mut tp, 0.1), q(&mut tp, 0.5), q(&mut tp, 0.9));
        println!("  rule mid-medians d={mid}: acc {:.3} sens {:.3} spec {:.3}; spec99 d={d99}: acc {:.3} sens {:.3} spec {:.3}; spec95 d={d95}: acc {:.3} sens {:.3} spec {:.3}",
            r_mid.accuracy, r_mid.sensitivity, r_mid.specificity, r99.accuracy, r99.sensitivity, r99.specificity, r95.accuracy, r95.sensitivity, r95.specificity);
        let key = f.rsplit('/').next().unwrap().split("-s").next().unwrap().to_string();
        let e = tot.entry(key).or_default();
        e.extend([tt.accuracy, oracle.0, r_mid.accuracy, r99.accuracy, r95.accuracy, tt.auc]);
    }
    for (k, v) in tot {
        let n = v.len() / 6;
        let m = |i: usize| (0..n).map(|j| v[j * 6 + i]).sum::<f64>() / n as f64;
        println!("{k}: model {:.4} oracle {:.4} mid {:.4} spec99 {:.4} spec95 {:.4} auc {:.4}", m(0), m(1), m(2), m(3), m(4), m(5));
    }
}

#[allow(dead_code)]
pub fn stats() {
    let root = dataset::default_root();
    for split in [Split::Train, Split::Val, Split::Test] {
        let ds = Dataset::load(&root, split, 64).unwrap();
        for c in 0..2u8 {
            let ims: Vec<&Vec<u8>> = ds.samples.iter().filter(|s| s.label == c).map(|s| &s.pixels).collect();
            let n = ims.len() as f64;
            let mean = ims.iter().map(|p| p.iter().map(|&v| v as f64).sum::<f64>() / 4096.0).sum::<f64>() / n;
            let sd = ims.iter().map(|p| { let m = p.iter().map(|&v| v as f64).sum::<f64>() / 4096.0; (p.iter().map(|&v| (v as f64 - m).powi(2)).sum::<f64>() / 4096.0).sqrt() }).sum::<f64>() / n;
            // sharpness: mean abs horizontal gradient
            let gr = ims.iter().map(|p| { let mut s = 0f64; for y in 0..64 { for x in 0..63 { s += (p[y*64+x+1] as f64 - p[y*64+x] as f64).abs(); } } s / (64.0*63.0) }).sum::<f64>() / n;
            // border darkness: mean of outer 4-px frame
            let border = ims.iter().map(|p| { let mut s = 0f64; let mut k = 0; for y in 0..64 { for x in 0..64 { if x < 4 || y < 4 || x >= 60 || y >= 60 { s += p[y*64+x] as f64; k += 1; } } } s / k as f64 }).sum::<f64>() / n;
            println!("{split:?} class {c}: n {n} mean {mean:.1} sd {sd:.1} grad {gr:.2} border {border:.1}");
        }
    }
}
