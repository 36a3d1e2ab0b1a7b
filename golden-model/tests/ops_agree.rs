//! The fast path of every op equals its plain reference implementation, on random shapes, bit widths
//! and values, with the kernels of every SIMD level this CPU has (portable, AVX2, AVX-512). At least
//! 256 cases per op type per run (`PROPTEST_CASES` raises it); the wide cases, which reach the kernels'
//! largest channel blocks and AVX2's byte-counter flush (windows over 31 words), run a quarter of that.

use golden_model::ops::{Conv, Dense, FeatureMap, InputQuant, MaxPool};
use golden_model::testing::{self, activations, bits, matvec, thresholds};
use golden_model::{ActType, Level, WeightType};
use proptest::prelude::*;

fn config() -> ProptestConfig {
    ProptestConfig { cases: testing::cases(256), ..ProptestConfig::default() }
}

fn wide_config() -> ProptestConfig {
    ProptestConfig { cases: testing::cases(256).div_ceil(4), ..ProptestConfig::default() }
}

#[test]
fn this_cpu_runs_every_level_it_reports() {
    let levels = Level::available();
    assert_eq!(levels[0], Level::Portable);
    assert!(levels.contains(&Level::detected()));
    eprintln!("SIMD levels tested here: {levels:?}");
}

fn feature_map(t: ActType, h: usize, w: usize, c: usize) -> impl Strategy<Value = FeatureMap> {
    activations(t, h * w * c).prop_map(move |v| FeatureMap::from_shape_vec((h, w, c), v).unwrap())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn multithreshold_fast_equals_reference(
        (t, acc) in bits().prop_flat_map(|b| (thresholds(ActType { bits: b }, 3, 50), -60i32..=60))
    ) {
        for c in 0..3 {
            prop_assert_eq!(t.apply(c, acc), t.apply_reference(c, acc as i64));
        }
    }

    #[test]
    fn input_quant_fast_equals_reference(
        (q, x) in (bits(), 1usize..=3).prop_flat_map(|(b, c)| (
            thresholds(ActType { bits: b }, c, 128).prop_map(InputQuant::new),
            feature_map(ActType::PIXEL, 4, 5, c),
        ))
    ) {
        prop_assert_eq!(q.eval(&x), q.eval_reference(&x));
    }

    #[test]
    fn matvec_fast_equals_reference(
        (mv, x) in (bits(), bits(), prop::option::of(bits()), 1usize..=12, 1usize..=200)
            .prop_flat_map(|(wb, ab, ob, rows, cols)| {
                let a = ActType { bits: ab };
                (matvec(a, WeightType { bits: wb }, ob.map(|bits| ActType { bits }), rows, cols), activations(a, cols))
            })
    ) {
        let expected = mv.eval_reference(&x);
        for level in Level::available() {
            let mut out = vec![0; mv.rows()];
            mv.eval_at(&x, level, &mut out);
            prop_assert_eq!(&out, &expected, "level {}", level);
        }
    }

    #[test]
    fn conv_fast_equals_reference(
        (conv, x) in (bits(), bits(), bits(), 1usize..=4, 1usize..=5, 1usize..=6, 0usize..=5, 0usize..=5)
            .prop_flat_map(|(wb, ab, ob, k, cin, cout, dh, dw)| {
                let a = ActType { bits: ab };
                (
                    matvec(a, WeightType { bits: wb }, Some(ActType { bits: ob }), cout, k * k * cin)
                        .prop_map(move |mv| Conv::new(k, cin, mv).unwrap()),
                    feature_map(a, k + dh, k + dw, cin),
                )
            })
    ) {
        let expected = conv.eval_reference(&x);
        for level in Level::available() {
            prop_assert_eq!(&conv.eval_at(&x, level), &expected, "level {}", level);
        }
    }

    #[test]
    fn maxpool_fast_equals_reference(
        x in (bits(), 2usize..=9, 2usize..=9, 1usize..=4)
            .prop_flat_map(|(b, h, w, c)| feature_map(ActType { bits: b }, h, w, c))
    ) {
        let y = MaxPool::eval(&x);
        prop_assert_eq!(&y, &MaxPool::eval_reference(&x));
        let (h, w, _) = x.dim();
        prop_assert_eq!((y.dim().0, y.dim().1), (h / 2, w / 2));
    }

    #[test]
    fn dense_fast_equals_reference(
        (dense, x) in (bits(), bits(), prop::option::of(bits()), 1usize..=10, 1usize..=4, 1usize..=4, 1usize..=8)
            .prop_flat_map(|(wb, ab, ob, out, h, w, c)| {
                let a = ActType { bits: ab };
                (
                    matvec(a, WeightType { bits: wb }, ob.map(|bits| ActType { bits }), out, h * w * c).prop_map(Dense::new),
                    feature_map(a, h, w, c),
                )
            })
    ) {
        let expected = dense.eval_reference(&x);
        for level in Level::available() {
            prop_assert_eq!(&dense.eval_at(&x, level), &expected, "level {}", level);
        }
    }

    #[test]
    fn model_fast_equals_reference((model, img) in testing::model().prop_flat_map(|m| {
        let s = m.input_shape();
        (Just(m), testing::image(s))
    })) {
        let expected = model.infer_reference(&img).unwrap();
        for level in Level::available() {
            prop_assert_eq!(&model.infer_at(&img, level).unwrap(), &expected, "level {}", level);
        }
        prop_assert_eq!(&model.infer(&img).unwrap(), &expected);
        let trace = model.trace(&img).unwrap();
        prop_assert_eq!(trace.len(), model.layers().len());
        prop_assert_eq!(trace.last().unwrap().iter().copied().collect::<Vec<_>>(), model.infer(&img).unwrap().logits);
    }
}

proptest! {
    #![proptest_config(wide_config())]

    /// Up to 150 rows (AVX-512's 8-group blocks, AVX2's 4-half blocks, partial groups) and windows up
    /// to 1,200 columns (AVX2 flushes its byte counters every 31 words), odd sizes leaving partial words.
    #[test]
    fn wide_matvec_fast_equals_reference(
        (mv, x) in (bits(), bits(), prop::option::of(bits()), 1usize..=150, 1usize..=1200)
            .prop_flat_map(|(wb, ab, ob, rows, cols)| {
                let a = ActType { bits: ab };
                (matvec(a, WeightType { bits: wb }, ob.map(|bits| ActType { bits }), rows, cols), activations(a, cols))
            })
    ) {
        let expected = mv.eval_reference(&x);
        for level in Level::available() {
            let mut out = vec![0; mv.rows()];
            mv.eval_at(&x, level, &mut out);
            prop_assert_eq!(&out, &expected, "level {}", level);
        }
    }

    /// Convs with up to 40 input and 40 output channels: segments of several words, several groups.
    #[test]
    fn wide_conv_fast_equals_reference(
        (conv, x) in (bits(), bits(), bits(), 1usize..=3, 1usize..=40, 1usize..=40, 0usize..=3, 0usize..=3)
            .prop_flat_map(|(wb, ab, ob, k, cin, cout, dh, dw)| {
                let a = ActType { bits: ab };
                (
                    matvec(a, WeightType { bits: wb }, Some(ActType { bits: ob }), cout, k * k * cin)
                        .prop_map(move |mv| Conv::new(k, cin, mv).unwrap()),
                    feature_map(a, k + dh, k + dw, cin),
                )
            })
    ) {
        let expected = conv.eval_reference(&x);
        for level in Level::available() {
            prop_assert_eq!(&conv.eval_at(&x, level), &expected, "level {}", level);
        }
    }

    /// CNV-like models whose channel counts reach the fused conv + pool kernels (byte-aligned bit
    /// pixels, 8-bit first layers, partial and whole channel groups, odd map sizes that the pool floors).
    #[test]
    fn cnv_model_fast_equals_reference((model, img) in testing::cnv_model().prop_flat_map(|m| {
        let s = m.input_shape();
        (Just(m), testing::image(s))
    })) {
        let expected = model.infer_reference(&img).unwrap();
        for level in Level::available() {
            prop_assert_eq!(&model.infer_at(&img, level).unwrap(), &expected, "level {}", level);
        }
    }

    /// A batch on all threads equals the images one by one on one thread.
    #[test]
    fn batch_equals_one_by_one((model, imgs) in testing::model().prop_flat_map(|m| {
        let s = m.input_shape();
        (Just(m), proptest::collection::vec(testing::image(s), 1..6))
    })) {
        let refs: Vec<&[u8]> = imgs.iter().map(|v| v.as_slice()).collect();
        let batch = model.infer_batch(&refs).unwrap();
        let one_by_one: Vec<_> = refs.iter().map(|img| model.infer_reference(img).unwrap()).collect();
        prop_assert_eq!(batch, one_by_one);
    }
}
