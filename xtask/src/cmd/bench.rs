//! `cargo xtask bench`: golden-model throughput on the test split, single thread, fast path and
//! reference path, for models of the same topology at several bit widths.

use anyhow::{Context, Result};
use std::path::PathBuf;
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// Architecture of the benchmark models (mlp or cnv)
    #[arg(long, default_value = "cnv")]
    pub arch: train::Arch,
    /// Bit widths to compare, e.g. w1a1,w4a4 (random weights: speed does not depend on their values)
    #[arg(long, default_value = "w1a1,w2a2,w4a4,w8a8", value_delimiter = ',')]
    pub bits: Vec<String>,
    /// Also time this model file (e.g. models/default.qnn.json)
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Data root (default: the vendored copy)
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Seconds to spend per model and path (at least one pass over the split)
    #[arg(long, default_value_t = 3.0)]
    pub seconds: f64,
}

fn parse_bits(s: &str) -> Result<(u8, u8)> {
    let bad = || anyhow::anyhow!("bit width `{s}`: expected wWaA, e.g. w1a1 or w4a4");
    let rest = s.strip_prefix('w').ok_or_else(bad)?;
    let (w, a) = rest.split_once('a').ok_or_else(bad)?;
    Ok((w.parse().map_err(|_| bad())?, a.parse().map_err(|_| bad())?))
}

/// Images per second of `f` over the images, repeating passes until `seconds` have elapsed.
fn rate(images: &[&[u8]], seconds: f64, mut f: impl FnMut(&[u8]) -> usize) -> f64 {
    let start = Instant::now();
    let mut n = 0usize;
    let mut sink = 0usize;
    loop {
        for img in images {
            sink = sink.wrapping_add(f(img));
        }
        n += images.len();
        if start.elapsed().as_secs_f64() >= seconds {
            break;
        }
    }
    std::hint::black_box(sink);
    n as f64 / start.elapsed().as_secs_f64()
}

pub fn run(args: Args) -> Result<()> {
    let root = args.data.clone().unwrap_or_else(dataset::default_root);
    let test = dataset::Dataset::load(&root, dataset::Split::Test, dataset::DEFAULT_SIZE)
        .with_context(|| format!("loading the test split from {}", root.display()))?;
    let images: Vec<&[u8]> = test.samples.iter().map(|s| s.pixels.as_slice()).collect();
    let mut models = vec![];
    for b in &args.bits {
        let (w, a) = parse_bits(b)?;
        let m = train::random_model(args.arch, w, a, 8, 1).map_err(|e| anyhow::anyhow!("{b}: {e}"))?;
        models.push((format!("{} {b} (random weights)", args.arch), m));
    }
    if let Some(p) = &args.model {
        models.push((p.display().to_string(), harness::paths::load_model(Some(p))?));
    }
    println!("golden model, single thread, {} test images of {}", images.len(), root.display());
    println!("{:<36} {:>14} {:>16} {:>8}", "model", "fast img/s", "reference img/s", "speedup");
    for (name, m) in &models {
        let fast = rate(&images, args.seconds, |img| m.infer(img).map(|r| r.label).unwrap_or(0));
        let reference = rate(&images, args.seconds, |img| m.infer_reference(img).map(|r| r.label).unwrap_or(0));
        println!("{name:<36} {fast:>14.1} {reference:>16.1} {:>7.1}x", fast / reference);
    }
    Ok(())
}
