//! Rendering a report: JSON round trip, field order and byte stability; Markdown and HTML content;
//! self-contained HTML; escaping; atomic writes and errors.

mod common;

use harness::report::render::{self, Doc};

fn render_to_strings(r: &harness::report::Report) -> (String, String, String) {
    let d = render::document(r).unwrap();
    (render::json(r).unwrap(), d.markdown(), d.html())
}

#[test]
fn writes_three_files_whose_json_round_trips() {
    let r = common::report();
    let dir = tempfile::tempdir().unwrap();
    render::write_all(&r, dir.path()).unwrap();
    let json = std::fs::read_to_string(dir.path().join("report.json")).unwrap();
    assert!(json.ends_with("}\n"), "trailing newline");
    let back: harness::report::Report = serde_json::from_str(&json).unwrap();
    common::assert_json_close(&serde_json::to_value(&back).unwrap(), &serde_json::to_value(&r).unwrap(), "report");
    // Only the three files: no temporary files left behind.
    let mut names: Vec<String> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["report.html", "report.json", "report.md"]);
    if let Ok(out) = std::env::var("RENDER_SAMPLE_DIR") {
        render::write_all(&r, std::path::Path::new(&out)).unwrap();
    }
}

#[test]
fn json_keeps_the_schema_field_order_and_the_issue_s_field_names() {
    let json = render::json(&common::report()).unwrap();
    let top: Vec<usize> =
        ["\"schema\"", "\"model\"", "\"accuracy\"", "\"latency\"", "\"resources\"", "\"folding\"", "\"provenance\""]
            .iter()
            .map(|k| json.find(&format!("\n  {k}:")).unwrap_or_else(|| panic!("{k} at top level")))
            .collect();
    assert!(top.windows(2).all(|w| w[0] < w[1]), "{top:?}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    for (path, key) in [
        ("/accuracy/golden", "balanced_accuracy"),
        ("/accuracy/rtl", "mismatches"),
        ("/accuracy/rtl", "auc"),
        ("/latency", "ii_cycles"),
        ("/latency", "fps"),
        ("/latency/layers/0", "cycles_estimated"),
        ("/resources/total", "bram18"),
        ("/resources/utilization_pct", "dsp"),
        ("/resources", "critical_path_estimate_ns"),
        ("/provenance", "git_commit"),
    ] {
        assert!(v.pointer(path).and_then(|o| o.get(key)).is_some(), "{path}/{key}");
    }
}

#[test]
fn output_is_a_function_of_the_report_and_only_the_date_moves_with_it() {
    let r = common::report();
    let a = render_to_strings(&r);
    assert_eq!(a, render_to_strings(&r), "same report, same bytes");
    let mut later = r.clone();
    later.provenance.date = "2031-12-24T23:59:59Z".into();
    let b = render_to_strings(&later);
    for (x, y) in [(&a.0, &b.0), (&a.1, &b.1), (&a.2, &b.2)] {
        let diff: Vec<(&str, &str)> = x.lines().zip(y.lines()).filter(|(p, q)| p != q).collect();
        assert_eq!(diff.len(), 1, "{diff:?}");
        assert!(diff[0].0.contains("2025-01-02T03:04:05Z") && diff[0].1.contains("2031-12-24T23:59:59Z"));
    }
}

#[test]
fn markdown_puts_golden_and_rtl_side_by_side_with_layers_resources_and_provenance() {
    let (_, md, _) = render_to_strings(&common::report());
    for needle in [
        "# Accelerator report: cnv-w1a1-seed0",
        "| metric | golden model | RTL |",
        "| accuracy | 85.58 % (95 % CI 82.60 % – 88.12 %) | 85.58 % (95 % CI 82.60 % – 88.12 %) |",
        "| confusion TN / FP / FN / TP | 199 / 35 / 55 / 335 | 199 / 35 / 55 / 335 |",
        "RTL mismatches: **0**",
        "| latency (first input beat to last output beat) | 41,234 | 206.17 µs |",
        "| initiation interval, measured (steady state) | 16,384 | 12,207 images/s |",
        "| conv0 | 16,037 | 16,000 | 1.00 |",
        "| LUT | 24,310 | 230,400 | 10.55 % |",
        "| BRAM36 (RAMB36 + RAMB18 / 2) | 7.5 (6 RAMB36, 3 RAMB18) | 312 | 2.40 % |",
        "| conv0 | 2,000 | 2,200 | 1,600 | 1,400 | 3 | 2 | 0 | 0 |",
        "**Critical path (estimate)**: 3.412 ns (about 293 MHz).",
        "| conv1 | 8 | 16 |",
        "git commit `2e16485aa0c4d1b2e3f405162738495a6b7c8d9e`",
        "Yosys: Yosys 0.23",
        "simulation seed: 1",
        "- Cycles per image by layer: simulation vs folding estimate",
    ] {
        assert!(md.contains(needle), "missing {needle:?} in\n{md}");
    }
    assert!(!md.contains("<svg"), "charts only in HTML");
}

#[test]
fn mismatches_are_listed_and_missing_figures_are_explained() {
    let mut r = common::report();
    r.accuracy.rtl.mismatches = 25;
    r.accuracy.rtl.mismatched_images = (0..20).map(|i| format!("test/NORMAL/img{i}.jpeg")).collect();
    r.accuracy.rtl.metrics.auc = None;
    r.resources.critical_path_estimate_ns = None;
    r.latency.layers.clear();
    r.resources.layers.clear();
    let (_, md, html) = render_to_strings(&r);
    assert!(
        md.contains(
            "RTL mismatches: **25** images whose RTL label or logits differ from the golden model (first 20 listed):"
        ),
        "{md}"
    );
    assert!(md.contains("- `test/NORMAL/img19.jpeg`"));
    assert!(md.contains("| AUC | 0.8562 | n/a |"), "{md}");
    assert!(md.contains("not available (no synthesis"), "{md}");
    assert!(!md.contains("Cycles per image by layer\n"), "no empty per-layer table");
    // Without per-layer figures only the metrics and utilization charts remain.
    assert_eq!(html.matches("<svg").count(), 2);
}

#[test]
fn html_is_self_contained_escaped_and_embeds_the_charts() {
    let mut r = common::report();
    r.model.name = "evil<script>alert('x')</script>&co".into();
    let (_, _, html) = render_to_strings(&r);
    assert!(html.starts_with("<!DOCTYPE html>\n") && html.ends_with("</html>\n"));
    assert_eq!(html.matches("<svg").count(), 5, "metrics, cycles, LUT, FF, utilization");
    assert_eq!(html.matches("<figure>").count(), 5);
    assert!(!html.contains("<script"), "the model name is escaped");
    assert!(html.contains("evil&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;co"));
    for external in ["src=", "href=", "@import", "url("] {
        assert!(!html.contains(external), "external reference {external}");
    }
    // The only URL is the SVG namespace.
    assert_eq!(html.matches("http").count(), html.matches("http://www.w3.org/2000/svg").count());
    for text in [
        "Cycles per image by layer",
        "LUTs by layer",
        "Utilization of the XCZU7EV (ZCU104)",
        "measured (Yosys)",
        "estimated (analytical)",
        "cycles per image",
        "% of device",
    ] {
        assert!(html.contains(text), "chart text {text:?}");
    }
}

#[test]
fn doc_inline_markup_and_tables_render_in_both_formats() {
    let mut d = Doc::new("T & `x`");
    d.p("a `b<c>` and **bold `code`** and a lone ` tick and ** stars");
    d.table(&["k", "v"], &[false, true], vec![vec!["a|b".into(), "1".into()]]);
    d.code("x < y\n");
    let md = d.markdown();
    assert!(md.starts_with("# T & `x`\n"));
    assert!(md.contains("| a\\|b | 1 |") && md.contains("|---|---:|"), "{md}");
    assert!(md.contains("```text\nx < y\n```"));
    let html = d.html();
    assert!(html.contains("<h1>T &amp; <code>x</code></h1>"), "{html}");
    assert!(
        html.contains("<p>a <code>b&lt;c&gt;</code> and <strong>bold <code>code</code></strong> and a lone ` tick and ** stars</p>"),
        "{html}"
    );
    assert!(html.contains("<td>a|b</td><td class=\"num\">1</td>"));
    assert!(html.contains("<pre>x &lt; y</pre>"));
}

#[test]
fn number_formatting() {
    assert_eq!(render::group(0), "0");
    assert_eq!(render::group(999), "999");
    assert_eq!(render::group(1000), "1,000");
    assert_eq!(render::group(1_234_567), "1,234,567");
    assert_eq!(render::pct(0.85256), "85.26 %");
    assert_eq!(render::opt_pct(None), "n/a");
    assert_eq!(harness::report::plots::si(16_037.0), "16k");
    assert_eq!(harness::report::plots::si(16_185.0), "16.2k");
    assert_eq!(harness::report::plots::si(1_250_000.0), "1.25M");
    assert_eq!(harness::report::plots::si(950.0), "950");
}

#[test]
fn an_unwritable_output_directory_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "x").unwrap();
    let out = blocker.join("reports");
    let e = format!("{:#}", render::write_all(&common::report(), &out).unwrap_err());
    assert!(e.contains(&out.display().to_string()), "{e}");
    assert_eq!(std::fs::read_to_string(&blocker).unwrap(), "x");
}
