//! The generator's stage chain is consistent for random models and foldings: widths and beats per
//! image match from stage to stage, memory images have the documented shape, and the automatic
//! folding meets its target with the cheapest choice.

use golden_model::testing;
use rtlgen::{self, Folding, Kind, LayerFold, Limits, estimate, folding};
use proptest::prelude::*;

fn limits() -> impl Strategy<Value = Limits> {
    (1usize..=8, 1usize..=8, 1usize..=4, 1usize..=64)
        .prop_map(|(max_pe, max_simd, max_in_pixels, max_lanes)| Limits {
            max_pe,
            max_simd,
            max_in_pixels,
            max_lanes,
            max_mmv: 2,
            ..Limits::default()
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: testing::cases(64), ..ProptestConfig::default() })]

    #[test]
    fn stage_chain_is_consistent(model in testing::model(), limits in limits(), slack in 1u64..=3) {
        let floor = folding::min_ii(&model, limits);
        prop_assume!(floor < u64::MAX);
        let f = Folding::auto(&model, Some(floor * slack), limits).unwrap();
        f.validate(&model).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let acc = rtlgen::generate(&model, &f, &dir.path().join("accel")).unwrap();
        let st = &acc.stages;
        prop_assert_eq!(st[0].in_width, f.in_pixels * 8);
        prop_assert_eq!(st[0].in_beats, (model.input_shape().len() / f.in_pixels) as u64);
        for w in st.windows(2) {
            prop_assert_eq!(w[0].out_width, w[1].in_width, "{} -> {}", &w[0].name, &w[1].name);
            prop_assert_eq!(w[0].out_beats, w[1].in_beats, "{} -> {}", &w[0].name, &w[1].name);
        }
        let last = st.last().unwrap();
        prop_assert_eq!(last.kind, Kind::LabelSelect);
        prop_assert_eq!(last.out_beats, 1);
        prop_assert_eq!(acc.out_width, 8 + 32 * 2);
        for s in st.iter().filter(|s| s.kind == Kind::Mvtu) {
            prop_assert!(s.cycles <= floor * slack, "{} needs {} cycles > target", &s.name, s.cycles);
            let (mw, mh, pe, simd, wbits) = (s.int("MW"), s.int("MH"), s.int("PE"), s.int("SIMD"), s.int("WBITS"));
            let text = std::fs::read_to_string(acc.dir.join("mem").join(&s.mem_files[0].1)).unwrap();
            let lines: Vec<&str> = text.lines().collect();
            prop_assert_eq!(lines.len() as i64, (mh / pe) * (mw / simd));
            prop_assert!(lines.iter().all(|l| l.len() as i64 == (pe * simd * wbits + 3) / 4));
        }
        let core = std::fs::read_to_string(acc.core_file()).unwrap();
        prop_assert!(core.contains("module qnn_accel ("));
        prop_assert_eq!(core.matches("(* keep_hierarchy *)\n  mvtu #(").count(), st.iter().filter(|s| s.kind == Kind::Mvtu).count());
    }

    #[test]
    fn auto_folding_is_cheapest_meeting_target(model in testing::model(), limits in limits()) {
        let target = folding::min_ii(&model, limits);
        prop_assume!(target < u64::MAX);
        let f = Folding::auto(&model, Some(target), limits).unwrap();
        for (i, lf) in f.layers.iter().enumerate() {
            let (Some(lf), Some(s)) = (lf, folding::mat_shape(&model, i)) else { continue };
            prop_assert!(folding::layer_cycles(s, *lf) <= target);
            let cost = estimate::layer_cost(s, *lf).cost();
            // No cheaper legal folding within the limits meets the target: every PE, SIMD and MMV
            // the folding's own validation accepts is tried.
            for pe in folding::divisors(s.rows).into_iter().filter(|&p| p <= limits.max_pe) {
                for simd in folding::divisors(s.cols).into_iter().filter(|&d| d <= limits.max_simd) {
                    for mmv in 1..=limits.max_mmv {
                        let g = LayerFold { pe, simd, mmv };
                        let mut other = f.clone();
                        other.layers[i] = Some(g);
                        let multibit = !(s.wbits == 1 && s.abits == 1);
                        if other.validate(&model).is_err() || (multibit && pe * simd * mmv > limits.max_lanes) {
                            continue;
                        }
                        if folding::layer_cycles(s, g) <= target {
                            prop_assert!(estimate::layer_cost(s, g).cost() >= cost, "{g:?} is cheaper than {lf:?}");
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn target_below_the_floor_is_refused_with_advice() {
    let model = proptest::strategy::ValueTree::current(
        &testing::model().new_tree(&mut proptest::test_runner::TestRunner::deterministic()).unwrap(),
    );
    let limits = Limits::default();
    let floor = folding::min_ii(&model, limits);
    let e = Folding::auto(&model, Some(floor - 1), limits).unwrap_err();
    assert!(e.contains("raise the target"), "{e}");
}

#[test]
fn explicit_folding_errors_name_the_layer() {
    let model = proptest::strategy::ValueTree::current(
        &testing::model().new_tree(&mut proptest::test_runner::TestRunner::deterministic()).unwrap(),
    );
    let mut f = Folding::auto(&model, None, Limits::default()).unwrap();
    let i = f.layers.iter().position(|l| l.is_some()).unwrap();
    f.layers[i] = Some(LayerFold::new(1000, 1));
    let e = f.validate(&model).unwrap_err();
    assert!(e.contains(&format!("layer {i}")) && e.contains("PE 1000"), "{e}");
}
