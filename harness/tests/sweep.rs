//! Sweeps: job plan and sharding, Pareto fronts, model cache, running shards with a substitute report
//! builder, merging (complete, partial, inconsistent) and rendering from synthetic job results.

mod common;

use harness::report::Report;
use harness::sweep::{self, BitWidth, Job, JobResult, Plan, Shard, cache, pareto, plan, run};
use proptest::prelude::*;
use std::path::Path;

fn plan_of(bits: &str, seeds: &str, epochs: Option<usize>) -> Plan {
    Plan {
        archs: vec!["cnv".into()],
        bits: plan::parse_bits_list(bits).unwrap(),
        seeds: plan::parse_seeds(seeds).unwrap(),
        epochs,
    }
}

/// A report for `job` whose accuracy, LUTs and cycles depend on its bit width and seed in a known way:
/// accuracy = (624 - wrong) / 624 with wrong = 100 - 10 * total_bits + seed, LUT = 10,000 * total_bits.
fn synthetic_report(job: &Job) -> Report {
    let mut r = common::report();
    let total = job.bits.total() as usize;
    let wrong = 100 - 10 * total.min(9) + job.seed as usize;
    r.accuracy.golden = common::metrics(624, wrong);
    r.accuracy.rtl.metrics = r.accuracy.golden.clone();
    r.resources.total.lut = 10_000 * total as u64;
    r.resources.total.ff = 8_000 * total as u64 + job.seed;
    r.latency.ii_cycles = 16_384 / total as u64;
    r.model.name = job.id();
    r
}

fn write_results(out: &Path, plan: &Plan, skip: &[&str]) {
    for job in plan.jobs() {
        if !skip.contains(&job.id().as_str()) {
            JobResult::new(&job, plan.epochs.unwrap_or(30), synthetic_report(&job)).write(out).unwrap();
        }
    }
}

#[test]
fn default_plan_covers_five_bit_widths_and_three_seeds_in_a_fixed_order() {
    let p = Plan::default();
    let ids: Vec<String> = p.jobs().iter().map(Job::id).collect();
    assert_eq!(ids.len(), 15);
    assert_eq!(&ids[..4], ["cnv-w1a1-s1", "cnv-w1a1-s2", "cnv-w1a1-s3", "cnv-w1a2-s1"]);
    assert_eq!(ids.last().unwrap(), "cnv-w8a8-s3");
}

#[test]
fn bit_widths_seeds_archs_and_shards_parse_or_explain() {
    assert_eq!("w4a2".parse::<BitWidth>().unwrap(), BitWidth { wbits: 4, abits: 2, in_bits: 8 });
    assert_eq!("w1a1i4".parse::<BitWidth>().unwrap().tag(), "w1a1i4");
    assert_eq!("W8A8".parse::<BitWidth>().unwrap().tag(), "w8a8");
    for bad in ["w3a1", "a1w1", "w1", "w1a", "", "w1a1i"] {
        assert!(bad.parse::<BitWidth>().is_err(), "{bad}");
    }
    assert!(plan::parse_bits_list("w1a1,w1a1").unwrap_err().contains("twice"));
    assert!(plan::parse_seeds("1,x").unwrap_err().contains("`x`"));
    assert!(plan::parse_seeds("2,2").unwrap_err().contains("twice"));
    assert_eq!(plan::parse_archs("CNV,mlp").unwrap(), ["cnv", "mlp"]);
    assert!(plan::parse_archs("resnet").is_err());
    assert_eq!("2/4".parse::<Shard>().unwrap(), Shard { index: 2, count: 4 });
    for bad in ["0/4", "5/4", "1/0", "1", "a/b", "1/2/3"] {
        let e = bad.parse::<Shard>().unwrap_err();
        assert!(!e.is_empty(), "{bad}");
    }
    assert!("0/4".parse::<Shard>().unwrap_err().contains("1-based"));
}

proptest! {
    #[test]
    fn shards_partition_the_jobs_exactly(n in 1usize..12, nbits in 1usize..6, nseeds in 1usize..5) {
        let bits: Vec<&str> = ["w1a1", "w1a2", "w2a2", "w4a4", "w8a8"][..nbits].to_vec();
        let seeds: Vec<String> = (1..=nseeds).map(|s| s.to_string()).collect();
        let p = plan_of(&bits.join(","), &seeds.join(","), None);
        let jobs = p.jobs();
        let mut seen: Vec<String> = vec![];
        let mut sizes = vec![];
        for i in 1..=n {
            let share = Shard::new(i, n).unwrap().select(&jobs);
            sizes.push(share.len());
            seen.extend(share.iter().map(|j| j.id()));
        }
        let mut all: Vec<String> = jobs.iter().map(Job::id).collect();
        prop_assert_eq!(seen.len(), all.len(), "every job exactly once");
        seen.sort();
        all.sort();
        prop_assert_eq!(seen, all);
        let (lo, hi) = (sizes.iter().min().unwrap(), sizes.iter().max().unwrap());
        prop_assert!(hi - lo <= 1, "balanced: {:?}", sizes);
    }

    #[test]
    fn pareto_front_matches_the_definition(points in prop::collection::vec((0u8..6, 0u8..6), 0..24)) {
        // Few distinct coordinates, so ties and duplicates are common.
        let pts: Vec<(f64, f64)> = points.iter().map(|&(v, c)| (f64::from(v) / 5.0, f64::from(c) * 1000.0)).collect();
        let dominated = |a: (f64, f64)| pts.iter().any(|&b| b.0 >= a.0 && b.1 <= a.1 && (b.0 > a.0 || b.1 < a.1));
        let expected: Vec<usize> = (0..pts.len()).filter(|&i| !dominated(pts[i])).collect();
        prop_assert_eq!(pareto::front(&pts), expected);
    }
}

#[test]
fn pareto_front_edge_cases() {
    assert!(pareto::front(&[]).is_empty());
    assert_eq!(pareto::front(&[(0.5, 10.0)]), [0]);
    // -0.0 and 0.0 are one cost; NaN is never on the front.
    assert_eq!(pareto::front(&[(1.0, -0.0), (1.0, 0.0), (f64::NAN, 0.0)]), [0, 1]);
    assert_eq!(pareto::front(&[(f64::NEG_INFINITY, 5.0)]), [0]);
    assert_eq!(pareto::front(&[(0.9, 3.0), (0.8, 2.0), (0.85, 4.0), (0.9, 3.0), (0.95, 9.0)]), [0, 1, 3, 4]);
}

#[test]
fn merge_of_complete_results_aggregates_and_renders() {
    let dir = tempfile::tempdir().unwrap();
    let p = plan_of("w1a1,w2a2,w4a4", "1,2", Some(3));
    write_results(dir.path(), &p, &[]);
    let s = sweep::merge(dir.path(), &p, false).unwrap();
    assert!(s.missing.is_empty());
    assert_eq!(s.jobs.len(), 6);
    assert_eq!(s.epochs, 3);
    let g = &s.groups[1];
    assert_eq!((g.bits.tag(), g.seeds.clone()), ("w2a2".to_string(), vec![1, 2]));
    // w2a2: wrong = 100 - 40 + seed = 61, 62 of 624.
    let (a1, a2) = (563.0 / 624.0, 562.0 / 624.0);
    assert!((g.accuracy.mean - (a1 + a2) / 2.0).abs() < 1e-12);
    assert_eq!((g.accuracy.min, g.accuracy.max), (a2, a1));
    assert_eq!((g.lut.min, g.lut.max), (40_000.0, 40_000.0));
    assert_eq!((g.ff.min, g.ff.max), (32_001.0, 32_002.0));
    // More bits: more LUTs and more accuracy, so the best seed of every bit width is on both fronts;
    // the other seed is dominated by it (same LUTs and bits, lower accuracy).
    assert_eq!(s.pareto_accuracy_vs_lut, ["cnv-w1a1-s1", "cnv-w2a2-s1", "cnv-w4a4-s1"]);
    assert_eq!(s.pareto_accuracy_vs_bits, s.pareto_accuracy_vs_lut);

    sweep::render::write_all(&s, dir.path()).unwrap();
    let json = std::fs::read_to_string(dir.path().join("sweep.json")).unwrap();
    let back: sweep::Sweep = serde_json::from_str(&json).unwrap();
    common::assert_json_close(&serde_json::to_value(&back).unwrap(), &serde_json::to_value(&s).unwrap(), "sweep");
    let md = std::fs::read_to_string(dir.path().join("sweep.md")).unwrap();
    assert!(md.contains("| cnv | w4a4 | 2 |"), "{md}");
    assert!(md.contains("`cnv-w1a1-s1`, `cnv-w2a2-s1`, `cnv-w4a4-s1`"), "{md}");
    let html = std::fs::read_to_string(dir.path().join("sweep.html")).unwrap();
    assert_eq!(html.matches("<svg").count(), 2);
    assert!(html.contains("Pareto front") && html.contains("LUTs (log scale)"));
    assert!(!html.contains("<script") && !html.contains("src=") && !html.contains("href="));
    // Rendering is a function of the merged sweep only.
    let again = tempfile::tempdir().unwrap();
    sweep::render::write_all(&s, again.path()).unwrap();
    for f in ["sweep.json", "sweep.md", "sweep.html"] {
        assert_eq!(std::fs::read(dir.path().join(f)).unwrap(), std::fs::read(again.path().join(f)).unwrap(), "{f}");
    }
    if let Ok(out) = std::env::var("RENDER_SAMPLE_DIR") {
        sweep::render::write_all(&s, Path::new(&out)).unwrap();
    }
}

#[test]
fn merge_with_missing_jobs_lists_them_unless_partial_is_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let p = plan_of("w1a1,w2a2", "1,2", None);
    write_results(dir.path(), &p, &["cnv-w1a1-s2", "cnv-w2a2-s1"]);
    let e = format!("{:#}", sweep::merge(dir.path(), &p, false).unwrap_err());
    assert!(e.contains("2 of 4 job results are missing") && e.contains("cnv-w1a1-s2, cnv-w2a2-s1"), "{e}");
    assert!(e.contains("--allow-partial"), "{e}");
    let s = sweep::merge(dir.path(), &p, true).unwrap();
    assert_eq!(s.missing, ["cnv-w1a1-s2", "cnv-w2a2-s1"]);
    assert_eq!(s.jobs.len(), 2);
    let empty = tempfile::tempdir().unwrap();
    assert!(format!("{:#}", sweep::merge(empty.path(), &p, true).unwrap_err()).contains("no job results"));
}

#[test]
fn merge_rejects_bad_or_inconsistent_results() {
    let dir = tempfile::tempdir().unwrap();
    let p = plan_of("w1a1", "1,2", None);
    write_results(dir.path(), &p, &[]);
    // Different epochs across results.
    let job = &p.jobs()[1];
    JobResult::new(job, 7, synthetic_report(job)).write(dir.path()).unwrap();
    let e = format!("{:#}", sweep::merge(dir.path(), &p, false).unwrap_err());
    assert!(e.contains("different numbers of epochs") && e.contains("cnv-w1a1-s2 (7 epochs)"), "{e}");
    // A requested epoch count the results do not have.
    let e = format!("{:#}", sweep::merge(dir.path(), &plan_of("w1a1", "1,2", Some(30)), false).unwrap_err());
    assert!(
        e.contains("cnv-w1a1-s2 was trained for 7 epochs") || e.contains("`cnv-w1a1-s2` was trained for 7 epochs"),
        "{e}"
    );
    // Malformed JSON names the file and says what to do.
    let path = sweep::result::job_path(dir.path(), "cnv-w1a1-s1");
    std::fs::write(&path, "{ not json").unwrap();
    let e = format!("{:#}", sweep::merge(dir.path(), &p, false).unwrap_err());
    assert!(e.contains("cnv-w1a1-s1.json") && e.contains("rerun its shard"), "{e}");
    // A result file whose content belongs to another job.
    let other = &p.jobs()[0];
    let mut r = JobResult::new(other, 30, synthetic_report(other));
    r.summary.job.seed = 9;
    r.write(dir.path()).unwrap();
    let e = format!("{:#}", sweep::merge(dir.path(), &p, true).unwrap_err());
    assert!(e.contains("describes job"), "{e}");
}

/// A tiny valid model for the cache, stamped as trained with `job`'s configuration at `epochs`.
fn cache_model(out: &Path, job: &Job, epochs: usize) -> golden_model::Model {
    let layers = train::LayerSpec::parse_list("c2p,d4").unwrap();
    let m = train::random_model_with_layers(train::Arch::Cnv, &layers, job.bits.wbits, job.bits.abits, 8, job.seed)
        .unwrap();
    let f = cache::files(out, job);
    m.save(&f.model).unwrap();
    cache::stamp(out, job, &cache::train_config(job, Some(epochs)).unwrap(), &m).unwrap();
    m
}

#[test]
fn cached_models_are_reused_only_for_the_same_training_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let job = Job { arch: "cnv".into(), bits: "w2a2".parse().unwrap(), seed: 4 };
    assert!(cache::cached(dir.path(), &job, &cache::train_config(&job, Some(2)).unwrap()).is_none(), "empty cache");
    let m = cache_model(dir.path(), &job, 2);
    let hit = cache::cached(dir.path(), &job, &cache::train_config(&job, Some(2)).unwrap()).unwrap();
    assert_eq!(hit.content_hash(), m.content_hash());
    assert!(cache::cached(dir.path(), &job, &cache::train_config(&job, Some(3)).unwrap()).is_none(), "other epochs");
    assert!(cache::cached(dir.path(), &job, &cache::train_config(&job, None).unwrap()).is_none(), "default epochs");
    // A model file that no longer matches its stamp (edited, truncated) is not reused.
    let f = cache::files(dir.path(), &job);
    let text = std::fs::read_to_string(&f.model).unwrap();
    std::fs::write(&f.model, &text[..text.len() / 2]).unwrap();
    assert!(cache::cached(dir.path(), &job, &cache::train_config(&job, Some(2)).unwrap()).is_none(), "corrupt");
}

#[test]
fn a_shard_runs_only_its_jobs_and_reports_failures_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let p = plan_of("w1a1,w2a2", "1,2,3", Some(2));
    for job in p.jobs() {
        cache_model(dir.path(), &job, 2);
    }
    let opts = run::RunOptions {
        out: dir.path().to_path_buf(),
        data: None,
        build: harness::report::BuildOptions { skip_synth: true, rtl_images: Some(5), ..Default::default() },
    };
    let mut seen_builds = vec![];
    let mut builder = |b: &harness::report::BuildOptions, _: &mut dyn FnMut(&str)| {
        let model = b.model.clone().unwrap();
        assert!(b.skip_synth && b.rtl_images == Some(5), "build options pass through");
        let id = model.file_name().unwrap().to_string_lossy().trim_end_matches(".qnn.json").to_string();
        seen_builds.push((id.clone(), b.seed));
        let job = p.jobs().into_iter().find(|j| j.id() == id).unwrap();
        if id == "cnv-w2a2-s3" {
            anyhow::bail!("simulated failure");
        }
        Ok(synthetic_report(&job))
    };
    let mut lines = vec![];
    let shard = Shard::new(2, 2).unwrap();
    let outcome = run::run_with(&p, Some(shard), &opts, &mut builder, &mut |l: &str| lines.push(l.to_string()));
    let e = format!("{:#}", outcome.unwrap_err());
    assert!(e.contains("1 of 3 jobs failed") && e.contains("cnv-w2a2-s3: simulated failure"), "{e}");
    // Jobs 1, 3, 5 (0-based) of w1a1 s1 s2 s3 w2a2 s1 s2 s3.
    let ids: Vec<&str> = seen_builds.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, ["cnv-w1a1-s2", "cnv-w2a2-s1", "cnv-w2a2-s3"]);
    assert!(seen_builds.iter().all(|(id, seed)| id.ends_with(&format!("s{seed}"))), "simulation seed = job seed");
    let written: Vec<bool> = p.jobs().iter().map(|j| sweep::result::job_path(dir.path(), &j.id()).exists()).collect();
    assert_eq!(written, [false, true, false, true, false, false]);
    assert!(lines.iter().any(|l| l.contains("reusing cached model")), "{lines:?}");
    // The stored result keeps the whole report and the figures from it.
    let r = JobResult::read(&sweep::result::job_path(dir.path(), "cnv-w2a2-s1")).unwrap();
    assert_eq!(r.summary.lut, 40_000);
    assert_eq!(r.summary.epochs, 2);
    assert_eq!(r.report.model.name, "cnv-w2a2-s1");
}

#[test]
fn unsynthesized_jobs_are_summarised_by_their_estimates() {
    let p = plan_of("w1a1", "1", None);
    let job = &p.jobs()[0];
    let mut r = synthetic_report(job);
    r.resources.synthesized = false;
    r.resources.total = Default::default();
    let expected: u64 = r.resources.layers.iter().map(|l| l.estimated.lut).sum();
    assert!(expected > 0, "the synthetic report has layer estimates");
    let dir = tempfile::tempdir().unwrap();
    JobResult::new(job, 30, r).write(dir.path()).unwrap();
    let s = JobResult::read(&sweep::result::job_path(dir.path(), &job.id())).unwrap().summary;
    assert!(!s.synthesized);
    assert_eq!(s.lut, expected);
}
