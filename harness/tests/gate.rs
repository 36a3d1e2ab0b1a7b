//! The CI gate: every threshold at its boundary (passes) and just past it (fails), comparability checks,
//! thresholds from TOML (defaults, errors naming the key), JUnit XML well-formedness and escaping, the
//! Markdown summary.

mod common;

use harness::gate::{self, Sides, Status, Thresholds};
use harness::report::Report;

fn status_of(b: &Report, f: &Report, t: &Thresholds, name: &str) -> Status {
    let o = gate::compare(b, f, t);
    o.checks.iter().find(|c| c.name == name).unwrap_or_else(|| panic!("no check `{name}`")).status
}

/// Asserts that `name` passes for `at` and fails for `past`, both made from the baseline.
fn boundary(t: &Thresholds, name: &str, at: impl Fn(&mut Report), past: impl Fn(&mut Report)) {
    let b = common::report();
    let mut f = b.clone();
    at(&mut f);
    assert_eq!(status_of(&b, &f, t, name), Status::Pass, "{name} at its limit");
    assert!(gate::compare(&b, &f, t).passed(), "{name} at its limit: the gate passes");
    let mut f = b.clone();
    past(&mut f);
    assert_eq!(status_of(&b, &f, t, name), Status::Fail, "{name} past its limit");
    let o = gate::compare(&b, &f, t);
    assert!(!o.passed());
    assert_eq!(o.failed().iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), [name], "only {name} fails");
}

#[test]
fn identical_reports_pass_every_check() {
    let r = common::report();
    let o = gate::compare(&r, &r, &Thresholds::default());
    assert!(o.passed());
    assert!(o.checks.iter().all(|c| c.status == Status::Pass), "{:?}", o.checks);
    assert!(o.checks.len() >= 15, "{}", o.checks.len());
    assert_eq!(gate::describe(&o), format!("all {} gate checks passed", o.checks.len()));
}

#[test]
fn rtl_mismatches_trip_above_the_limit() {
    let t = Thresholds::default();
    boundary(&t, "RTL mismatches", |_| {}, |f| f.accuracy.rtl.mismatches = 1);
    let t = Thresholds { max_rtl_mismatches: 2, ..Thresholds::default() };
    boundary(&t, "RTL mismatches", |f| f.accuracy.rtl.mismatches = 2, |f| f.accuracy.rtl.mismatches = 3);
}

#[test]
fn accuracy_drops_trip_past_half_a_point() {
    let t = Thresholds::default();
    let set = |v: f64| move |f: &mut Report| f.accuracy.golden.accuracy = v;
    let base = |v: f64| {
        let mut r = common::report();
        r.accuracy.golden.accuracy = v;
        r.accuracy.rtl.metrics.accuracy = v;
        r
    };
    // 0.900 -> 0.895 is 0.5 points up to rounding: at the limit.
    let b = base(0.900);
    let mut f = b.clone();
    set(0.895)(&mut f);
    assert_eq!(status_of(&b, &f, &t, "accuracy (golden)"), Status::Pass);
    set(0.8949)(&mut f);
    assert_eq!(status_of(&b, &f, &t, "accuracy (golden)"), Status::Fail);
    // Gains always pass.
    set(0.99)(&mut f);
    assert_eq!(status_of(&b, &f, &t, "accuracy (golden)"), Status::Pass);

    let a = common::report().accuracy.golden.accuracy;
    boundary(
        &t,
        "accuracy (RTL)",
        |f| f.accuracy.rtl.metrics.accuracy = a - 0.005,
        |f| f.accuracy.rtl.metrics.accuracy = a - 0.0051,
    );
    let ba = common::report().accuracy.golden.balanced_accuracy.unwrap();
    boundary(
        &t,
        "balanced accuracy (golden)",
        |f| f.accuracy.golden.balanced_accuracy = Some(ba - 0.005),
        |f| f.accuracy.golden.balanced_accuracy = Some(ba - 0.0051),
    );
    let auc = common::report().accuracy.rtl.metrics.auc.unwrap();
    boundary(
        &t,
        "AUC (RTL)",
        |f| f.accuracy.rtl.metrics.auc = Some(auc - 0.005),
        |f| f.accuracy.rtl.metrics.auc = Some(auc - 0.0051),
    );
    // A configured limit moves the boundary.
    let t2 = Thresholds { max_accuracy_drop_points: 2.0, ..Thresholds::default() };
    boundary(
        &t2,
        "accuracy (golden)",
        |f| f.accuracy.golden.accuracy = a - 0.02,
        |f| f.accuracy.golden.accuracy = a - 0.0201,
    );
}

#[test]
fn a_rate_missing_from_the_fresh_report_fails_and_one_missing_from_the_baseline_passes() {
    let t = Thresholds::default();
    let b = common::report();
    let mut f = b.clone();
    f.accuracy.golden.auc = None;
    let o = gate::compare(&b, &f, &t);
    let c = o.checks.iter().find(|c| c.name == "AUC (golden)").unwrap();
    assert_eq!(c.status, Status::Fail);
    assert!(c.message.contains("undefined in the fresh report"), "{}", c.message);
    assert_eq!(status_of(&f, &b, &t, "AUC (golden)"), Status::Pass);
}

#[test]
fn cycle_increases_trip_at_any_increase_by_default() {
    let t = Thresholds::default();
    let lat = common::report().latency;
    boundary(
        &t,
        "latency",
        |f| f.latency.latency_cycles = lat.latency_cycles,
        |f| f.latency.latency_cycles = lat.latency_cycles + 1,
    );
    boundary(&t, "II", |f| f.latency.ii_cycles = lat.ii_cycles - 100, |f| f.latency.ii_cycles = lat.ii_cycles + 1);
    let t = Thresholds { max_ii_increase_pct: 25.0, ..Thresholds::default() };
    // 16,384 + 25 % = 20,480.
    boundary(&t, "II", |f| f.latency.ii_cycles = 20_480, |f| f.latency.ii_cycles = 20_481);
}

#[test]
fn resource_increases_trip_past_two_percent() {
    let t = Thresholds { max_lut_increase_pct: 2.0, max_ff_increase_pct: 2.0, ..Thresholds::default() };
    let set_total = |f: &mut Report, lut: u64, ff: u64, bram36: u64, bram18: u64| {
        f.resources.total.lut = lut;
        f.resources.total.ff = ff;
        f.resources.total.bram36 = bram36;
        f.resources.total.bram18 = bram18;
    };
    let base = |r: &mut Report| set_total(r, 10_000, 20_000, 50, 0);
    let b = {
        let mut r = common::report();
        base(&mut r);
        r
    };
    let check = |name: &str, at: &dyn Fn(&mut Report), past: &dyn Fn(&mut Report)| {
        let mut f = b.clone();
        at(&mut f);
        assert_eq!(status_of(&b, &f, &t, name), Status::Pass, "{name} at +2 %");
        let mut f = b.clone();
        past(&mut f);
        assert_eq!(status_of(&b, &f, &t, name), Status::Fail, "{name} past +2 %");
    };
    check("LUT", &|f| set_total(f, 10_200, 20_000, 50, 0), &|f| set_total(f, 10_201, 20_000, 50, 0));
    check("FF", &|f| set_total(f, 10_000, 20_400, 50, 0), &|f| set_total(f, 10_000, 20_401, 50, 0));
    // BRAM in RAMB36 units: 50 -> 51 is +2 %; 50 -> 51 + one RAMB18 (51.5) is +3 %; two RAMB18 are one RAMB36.
    check("BRAM (RAMB36 eq.)", &|f| set_total(f, 10_000, 20_000, 50, 2), &|f| set_total(f, 10_000, 20_000, 51, 1));
    check("BRAM (RAMB36 eq.)", &|f| set_total(f, 10_000, 20_000, 51, 0), &|f| set_total(f, 10_000, 20_000, 49, 5));
    let mut f = b.clone();
    set_total(&mut f, 10_500, 20_000, 50, 0);
    let o = gate::compare(&b, &f, &t);
    assert_eq!(o.failed()[0].message, "LUT rose from 10,000 to 10,500: +500 (+5.00 %), over the 2.00 % limit");
    // Decreases pass.
    let mut f = b.clone();
    set_total(&mut f, 5_000, 1, 0, 0);
    assert!(gate::compare(&b, &f, &t).passed());
}

#[test]
fn growth_from_zero_fails_unless_the_check_is_disabled() {
    let mut b = common::report();
    b.resources.total.bram36 = 0;
    b.resources.total.bram18 = 0;
    let mut f = b.clone();
    f.resources.total.bram18 = 1;
    let o = gate::compare(&b, &f, &Thresholds::default());
    let c = o.checks.iter().find(|c| c.name.starts_with("BRAM")).unwrap();
    assert_eq!(c.status, Status::Fail);
    assert!(c.delta.contains("baseline 0"), "{}", c.delta);
    let off = Thresholds::from_toml("max_bram_increase_pct = inf").unwrap();
    assert!(gate::compare(&b, &f, &off).passed());
}

#[test]
fn reports_of_different_synthesizers_are_refused() {
    let t = Thresholds::default();
    let b = common::report();
    let mut f = b.clone();
    f.resources.tool = "YoWASP Yosys 0.70 (git sha1 28ba3cb92); synth_xilinx -family xcup -abc9 -noiopad".into();
    f.resources.total.lut /= 2;
    let o = gate::compare(&b, &f, &t);
    assert_eq!(o.failed().iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["synthesizer"]);
    let m = &o.failed()[0].message;
    assert!(m.contains("refuses to compare") && m.contains("YoWASP Yosys 0.70") && m.contains("Yosys 0.23"), "{m}");
    assert!(m.contains("--synth"), "says what to do: {m}");
    assert!(!o.checks.iter().any(|c| c.name == "LUT" || c.name == "FF"), "resources are not compared");
    assert!(gate::summary(&o, &Sides { baseline_label: "b", baseline: &b, fresh_label: "f", fresh: &f })
        .contains("refuses to compare"));

    // Another DSP mapping of the same Yosys is another synthesizer too.
    let mut f = b.clone();
    f.resources.tool = b.resources.tool.replace("-noiopad", "-noiopad -nodsp");
    assert_eq!(status_of(&b, &f, &t, "synthesizer"), Status::Fail);
    // Skipped synthesis is the `synthesized` check's business, not a synthesizer mismatch.
    let mut f = b.clone();
    f.resources.synthesized = false;
    f.resources.tool = "none (synthesis skipped)".into();
    assert_eq!(status_of(&b, &f, &t, "synthesizer"), Status::Pass);
    assert_eq!(status_of(&b, &f, &t, "synthesized"), Status::Fail);
}

#[test]
fn a_different_model_warns_and_different_samples_fail() {
    let t = Thresholds::default();
    let b = common::report();
    let mut f = b.clone();
    f.model.hash = "0".repeat(64);
    let o = gate::compare(&b, &f, &t);
    assert!(o.passed(), "a model change alone does not fail");
    assert_eq!(o.warnings().len(), 1);
    assert!(o.warnings()[0].message.contains("different models"));
    let mut f = b.clone();
    f.accuracy.rtl.metrics.n = 50;
    let o = gate::compare(&b, &f, &t);
    assert_eq!(o.failed().iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["RTL images"]);
    assert!(o.failed()[0].message.contains("--rtl-images"));
    let mut f = b.clone();
    f.accuracy.golden.n = 600;
    assert_eq!(status_of(&b, &f, &t, "test images"), Status::Fail);
}

#[test]
fn the_committed_gate_toml_holds_the_documented_defaults() {
    let path = harness::paths::workspace_root().join("gate.toml");
    let t = Thresholds::load(&path).unwrap();
    assert_eq!(t, Thresholds::default());
    assert_eq!(t.max_rtl_mismatches, 0);
    assert_eq!(t.max_accuracy_drop_points, 0.5);
    assert_eq!((t.max_latency_increase_pct, t.max_ii_increase_pct), (0.0, 0.0));
    assert_eq!((t.max_lut_increase_pct, t.max_ff_increase_pct, t.max_bram_increase_pct), (5.0, 5.0, 2.0));
}

#[test]
fn thresholds_toml_errors_name_the_problem() {
    let e = format!("{:#}", Thresholds::from_toml("max_lut_increase_pc = 3").unwrap_err());
    assert!(e.contains("max_lut_increase_pc"), "{e}");
    let e = format!("{:#}", Thresholds::from_toml("max_lut_increase_pct = \"two\"").unwrap_err());
    assert!(e.contains("max_lut_increase_pct") || e.contains("invalid type"), "{e}");
    let e = format!("{:#}", Thresholds::from_toml("max_ff_increase_pct = -1").unwrap_err());
    assert!(e.contains("max_ff_increase_pct") && e.contains(">= 0"), "{e}");
    let e = format!("{:#}", Thresholds::from_toml("max_ff_increase_pct = nan").unwrap_err());
    assert!(e.contains("max_ff_increase_pct"), "{e}");
    let e = format!("{:#}", Thresholds::from_toml("max_rtl_mismatches = 0.5").unwrap_err());
    assert!(e.contains("max_rtl_mismatches") || e.contains("invalid type"), "{e}");
    assert!(Thresholds::from_toml("max_lut_increase_pct = [").is_err());
    // Missing keys take the defaults; integers are accepted for percentages.
    let t = Thresholds::from_toml("max_lut_increase_pct = 7").unwrap();
    assert_eq!(t, Thresholds { max_lut_increase_pct: 7.0, ..Thresholds::default() });
    assert_eq!(Thresholds::from_toml("").unwrap(), Thresholds::default());
    let e = format!("{:#}", Thresholds::load(std::path::Path::new("/nonexistent/gate.toml")).unwrap_err());
    assert!(e.contains("/nonexistent/gate.toml"), "{e}");
}

#[test]
fn reading_reports_checks_json_and_schema() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("report.json");
    assert!(format!("{:#}", gate::read_report(&p).unwrap_err()).contains("cannot read report"));
    std::fs::write(&p, "{\"schema\": \"qnn-report/1\"}").unwrap();
    assert!(format!("{:#}", gate::read_report(&p).unwrap_err()).contains("not a valid report.json"));
    let mut r = common::report();
    r.schema = "qnn-report/0".into();
    std::fs::write(&p, serde_json::to_string(&r).unwrap()).unwrap();
    assert!(format!("{:#}", gate::read_report(&p).unwrap_err()).contains("expected `qnn-report/1`"));
    harness::report::render::write_all(&common::report(), dir.path()).unwrap();
    common::assert_json_close(
        &serde_json::to_value(gate::read_report(&p).unwrap()).unwrap(),
        &serde_json::to_value(common::report()).unwrap(),
        "report",
    );
}

/// A small XML 1.0 well-formedness check: balanced tags, quoted attributes, only the five named
/// entities or numeric references, no raw `<` or `&` in text, no characters XML cannot carry.
fn assert_well_formed(xml: &str) {
    let body = xml.strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n").expect("XML declaration");
    assert!(!body.chars().any(|c| (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r')), "control characters");
    let check_entities = |s: &str| {
        let mut rest = s;
        while let Some(i) = rest.find('&') {
            let after = &rest[i + 1..];
            let end = after.find(';').expect("entity terminated");
            let name = &after[..end];
            assert!(
                ["amp", "lt", "gt", "quot", "apos"].contains(&name) || name.starts_with('#'),
                "bad entity &{name};"
            );
            rest = &after[end + 1..];
        }
    };
    let mut stack: Vec<String> = vec![];
    let mut rest = body;
    while let Some(open) = rest.find('<') {
        check_entities(&rest[..open]);
        let close = rest[open..].find('>').expect("tag closed") + open;
        let tag = &rest[open + 1..close];
        assert!(!tag.contains('<'), "raw < inside a tag: {tag}");
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop().as_deref(), Some(name), "mismatched close tag");
        } else {
            let self_closing = tag.ends_with('/');
            let tag = tag.trim_end_matches('/');
            let name = tag.split_whitespace().next().expect("tag name").to_string();
            // Attributes: name="value" with no raw quote inside.
            let attrs = tag[name.len()..].trim();
            let mut a = attrs;
            while !a.is_empty() {
                let eq = a.find("=\"").expect("attribute =\"");
                let end = a[eq + 2..].find('"').expect("attribute closed") + eq + 2;
                check_entities(&a[eq + 2..end]);
                a = a[end + 1..].trim_start();
            }
            if !self_closing {
                stack.push(name);
            }
        }
        rest = &rest[close + 1..];
    }
    assert!(rest.trim().is_empty() && stack.is_empty(), "unclosed: {stack:?}");
}

#[test]
fn junit_has_one_case_per_check_and_escapes_messages() {
    let b = common::report();
    let mut f = b.clone();
    f.resources.total.lut += 5_000;
    f.accuracy.rtl.mismatches = 2;
    f.accuracy.rtl.mismatched_images = vec!["test/PNEUMONIA/a<b>&\"c'd\u{1}.jpeg".into()];
    f.model.hash = "f".repeat(64);
    let o = gate::compare(&b, &f, &Thresholds::default());
    let xml = gate::junit(&o);
    assert_well_formed(&xml);
    assert_eq!(xml.matches("<testcase ").count(), o.checks.len());
    assert_eq!(xml.matches("<failure ").count(), 2);
    assert!(xml.contains(&format!("tests=\"{}\" failures=\"2\"", o.checks.len())));
    assert!(xml.contains("a&lt;b&gt;&amp;&quot;c&apos;d\u{FFFD}.jpeg"), "{xml}");
    assert!(xml.contains("<system-out>warning: the reports describe different models"));
    // Identical input, identical bytes.
    assert_eq!(xml, gate::junit(&gate::compare(&b, &f, &Thresholds::default())));
    assert_eq!(gate::xml_escape("<&>\"'\t\u{0}"), "&lt;&amp;&gt;&quot;&apos;\t\u{FFFD}");
}

#[test]
fn summary_has_the_headline_and_a_row_per_check() {
    let b = common::report();
    let mut f = b.clone();
    f.latency.ii_cycles += 10;
    let o = gate::compare(&b, &f, &Thresholds::default());
    let md = gate::summary(
        &o,
        &Sides {
            baseline_label: "reports/report.json",
            baseline: &b,
            fresh_label: "target/gate/report.json",
            fresh: &f,
        },
    );
    assert!(md.starts_with("# Gate: FAIL (1 of "), "{md}");
    assert!(
        md.contains("| II | 16,384 cycles | 16,394 cycles | +10 (+0.06 %) | increase <= 0.00 % | **FAIL** |"),
        "{md}"
    );
    assert!(
        md.contains("**FAIL** II: II rose from 16,384 cycles to 16,394 cycles: +10 (+0.06 %), over the 0.00 % limit"),
        "{md}"
    );
    assert!(md.contains("baseline `reports/report.json`") && md.contains("fresh `target/gate/report.json`"));
    assert_eq!(md.matches("\n| ").count(), o.checks.len() + 1, "header + one row per check");
    let ok = gate::summary(
        &gate::compare(&b, &b, &Thresholds::default()),
        &Sides { baseline_label: "a", baseline: &b, fresh_label: "b", fresh: &b },
    );
    assert!(ok.starts_with("# Gate: PASS"), "{ok}");
}
