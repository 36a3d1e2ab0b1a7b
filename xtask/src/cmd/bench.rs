//! `cargo xtask bench`: golden-model throughput on the test split at one thread and at all cores, per
//! bit width, beside the same networks rebuilt in PyTorch (`bench/torch_rebuild.py`) when Python
//! with torch is installed. All figures of a table come from one run, so their ratios compare like
//! with like on a machine whose load changes from minute to minute.

use anyhow::{Context, Result, bail};
use golden_model::{Level, Model};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The PyTorch rebuild, relative to the workspace root.
const TORCH_SCRIPT: &str = "bench/torch_rebuild.py";

#[derive(clap::Args)]
#[command(
    about = "Golden-model images/s per bit width at 1 thread and all cores, beside PyTorch on the same networks",
    after_help = "Times the golden model's fast path (Model::infer_batch) on the test images at one thread and at all \
cores, for the default model and random-weight CNV models at each bit width (speed does not depend on the weight \
values). When `python3 -c 'import torch'` works, bench/torch_rebuild.py rebuilds each network from its model file in \
PyTorch (float conv/linear with the integer weights, thresholds as comparisons), checks that its labels and logits \
equal the golden model's on every image, and times it at batch 64 on 1 and 2 threads. Ratios are within this run.\n\n\
QNN_SIMD=avx2 (or portable) caps the golden model's SIMD level, e.g. to see what a CPU without AVX-512 gets.\n\n\
Examples:\n  cargo xtask bench\n  cargo xtask bench --bits w1a1 --seconds 5\n  QNN_SIMD=avx2 cargo xtask bench --no-torch"
)]
pub struct Args {
    /// Architecture of the random-weight models (mlp or cnv)
    #[arg(long, default_value = "cnv")]
    pub arch: train::Arch,
    /// Bit widths of the random-weight models, e.g. w1a1,w4a4 (empty: none)
    #[arg(long, default_value = "w1a1,w2a2,w4a4,w8a8", value_delimiter = ',')]
    pub bits: Vec<String>,
    /// Model file timed first [default: models/default.qnn.json]
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    /// Data root (default: the vendored copy)
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Seconds per model and configuration (at least one pass over the split)
    #[arg(long, default_value_t = 3.0)]
    pub seconds: f64,
    /// Threads of the "all cores" column [default: every core]
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Also time the plain reference implementation (single thread; slow)
    #[arg(long)]
    pub reference: bool,
    /// Skip the PyTorch comparison
    #[arg(long)]
    pub no_torch: bool,
    /// Python interpreter for the PyTorch comparison
    #[arg(long, default_value = "python3", value_name = "EXE")]
    pub python: String,
}

fn parse_bits(s: &str) -> Result<(u8, u8)> {
    let bad = || anyhow::anyhow!("bit width `{s}`: expected wWaA, e.g. w1a1 or w4a4");
    let rest = s.strip_prefix('w').ok_or_else(bad)?;
    let (w, a) = rest.split_once('a').ok_or_else(bad)?;
    Ok((w.parse().map_err(|_| bad())?, a.parse().map_err(|_| bad())?))
}

/// Images per second of `infer_batch` over all images on a pool of `threads`, passes repeated until
/// `seconds` have elapsed (after one warm-up pass).
fn golden_rate(model: &Model, images: &[&[u8]], threads: usize, seconds: f64) -> Result<f64> {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().context("starting the thread pool")?;
    pool.install(|| {
        let run = || model.infer_batch(images).map_err(|(i, e)| anyhow::anyhow!("image {i}: {e}"));
        run()?;
        let start = Instant::now();
        let mut n = 0;
        while n == 0 || start.elapsed().as_secs_f64() < seconds {
            std::hint::black_box(run()?);
            n += images.len();
        }
        Ok(n as f64 / start.elapsed().as_secs_f64())
    })
}

fn reference_rate(model: &Model, images: &[&[u8]], seconds: f64) -> Result<f64> {
    let start = Instant::now();
    let mut n = 0;
    'outer: loop {
        for img in images {
            std::hint::black_box(model.infer_reference(img)?);
            n += 1;
            if start.elapsed().as_secs_f64() >= seconds && n >= 16 {
                break 'outer;
            }
        }
    }
    Ok(n as f64 / start.elapsed().as_secs_f64())
}

/// Whether `python -c 'import torch'` works; the reason when it does not.
fn torch_available(python: &str) -> Result<String, String> {
    let out = Command::new(python)
        .args(["-W", "ignore", "-c", "import torch; print(torch.__version__)"])
        .output()
        .map_err(|e| format!("cannot run `{python}`: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        Err(err.lines().last().unwrap_or("import torch failed").to_string())
    }
}

struct TorchResult {
    rates: Vec<(usize, f64)>,
    labels_equal: u64,
    logits_equal: u64,
    float32_exact: bool,
}

/// Runs the PyTorch rebuild of `model` on `images` (checked against the golden model's `expected`).
fn torch_rate(args: &Args, dir: &Path, tag: &str, model: &Model, images: &[&[u8]], expected: &[golden_model::Inference]) -> Result<TorchResult> {
    let model_file = dir.join(format!("{tag}.qnn.json"));
    model.save(&model_file).with_context(|| format!("writing {}", model_file.display()))?;
    let images_file = dir.join("images.u8");
    std::fs::write(&images_file, images.concat()).context("writing the images for PyTorch")?;
    let expected_file = dir.join(format!("{tag}.expected.i32"));
    let mut bytes = vec![];
    for e in expected {
        bytes.extend((e.label as i32).to_le_bytes());
        for l in &e.logits {
            bytes.extend(l.to_le_bytes());
        }
    }
    std::fs::write(&expected_file, bytes).context("writing the golden model's results for PyTorch")?;
    let script = crate::project_root().join(TORCH_SCRIPT);
    let out = Command::new(&args.python)
        .arg("-W")
        .arg("ignore")
        .arg(&script)
        .arg("--model")
        .arg(&model_file)
        .arg("--images")
        .arg(&images_file)
        .arg("--expected")
        .arg(&expected_file)
        .args(["--batch", "64", "--threads", "1,2", "--seconds", &args.seconds.to_string()])
        .output()
        .with_context(|| format!("running {}", script.display()))?;
    if !out.status.success() {
        bail!("{} failed on {tag}:\n{}", script.display(), String::from_utf8_lossy(&out.stderr));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let v: serde_json::Value = serde_json::from_str(text.trim())
        .with_context(|| format!("{} printed something other than its JSON result: {text}", script.display()))?;
    let rates = v["images_per_s"]
        .as_object()
        .context("no images_per_s in the PyTorch result")?
        .iter()
        .map(|(k, r)| Ok((k.parse()?, r.as_f64().context("rate")?)))
        .collect::<Result<Vec<_>>>()?;
    Ok(TorchResult {
        rates,
        labels_equal: v["labels_equal"].as_u64().context("labels_equal")?,
        logits_equal: v["logits_equal"].as_u64().context("logits_equal")?,
        float32_exact: v["float32_exact"].as_bool().unwrap_or(false),
    })
}

pub fn run(args: Args) -> Result<()> {
    let level = Level::from_env().map_err(anyhow::Error::msg)?.unwrap_or_else(Level::detected);
    let root = args.data.clone().unwrap_or_else(dataset::default_root);
    let test = dataset::Dataset::load(&root, dataset::Split::Test, dataset::DEFAULT_SIZE)
        .with_context(|| format!("loading the test split from {}", root.display()))?;
    let images: Vec<&[u8]> = test.samples.iter().map(|s| s.pixels.as_slice()).collect();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = args.threads.unwrap_or(cores);
    if threads == 0 {
        bail!("--threads 0: give at least 1");
    }
    let mut models = vec![];
    let model_path = args.model.clone().unwrap_or_else(|| crate::project_root().join("models/default.qnn.json"));
    if args.model.is_some() || model_path.is_file() {
        models.push((model_path.display().to_string(), harness::paths::load_model(Some(&model_path))?));
    }
    for b in args.bits.iter().filter(|b| !b.is_empty()) {
        let (w, a) = parse_bits(b)?;
        let m = train::random_model(args.arch, w, a, 8, 1).map_err(|e| anyhow::anyhow!("{b}: {e}"))?;
        models.push((format!("{} {b} (random weights)", args.arch), m));
    }
    if models.is_empty() {
        bail!("nothing to time: give --model FILE or --bits");
    }
    let torch = if args.no_torch {
        Err("--no-torch".to_string())
    } else {
        torch_available(&args.python)
    };
    println!(
        "golden model: SIMD level {level} (this CPU: {}; {} caps it), {} test images of {}, {cores} cores",
        Level::detected(),
        golden_model::fast::ENV,
        images.len(),
        root.display()
    );
    match &torch {
        Ok(v) => println!("PyTorch {v}: {TORCH_SCRIPT}, float32, batch 64, same images"),
        Err(why) => println!(
            "PyTorch: not compared ({why}); install it with `pip install torch` (CPU wheel: \
             --index-url https://download.pytorch.org/whl/cpu) to see the ratios"
        ),
    }
    println!("measuring {:.1} s per model and configuration ...", args.seconds);
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    let mut rows = vec![];
    for (i, (name, m)) in models.iter().enumerate() {
        let one = golden_rate(m, &images, 1, args.seconds)?;
        let all = golden_rate(m, &images, threads, args.seconds)?;
        let reference = if args.reference { Some(reference_rate(m, &images, args.seconds)?) } else { None };
        let t = match &torch {
            Ok(_) => {
                let expected = m.infer_batch(&images).map_err(|(i, e)| anyhow::anyhow!("image {i}: {e}"))?;
                Some(torch_rate(&args, dir.path(), &format!("model{i}"), m, &images, &expected)?)
            }
            Err(_) => None,
        };
        rows.push((name, one, all, reference, t));
    }
    println!();
    let mut header = format!("{:<40} {:>11} {:>11} {:>7}", "model", "golden 1T", format!("golden {threads}T"), "all/1T");
    if args.reference {
        header += &format!(" {:>10} {:>8}", "reference", "fast/ref");
    }
    if torch.is_ok() {
        header += &format!(" {:>10} {:>10} {:>10} {:>10} {:>8}", "torch 1T", "torch 2T", "1T/torch1", "1T/torch2", "labels");
    }
    println!("{header}");
    let mut unequal = vec![];
    for (name, one, all, reference, t) in &rows {
        let mut line = format!("{name:<40} {one:>11.0} {all:>11.0} {:>6.2}x", all / one);
        if let Some(r) = reference {
            line += &format!(" {r:>10.1} {:>7.0}x", one / r);
        }
        if let Some(t) = t {
            let at = |n: usize| t.rates.iter().find(|(k, _)| *k == n).map_or(f64::NAN, |(_, r)| *r);
            let (t1, t2) = (at(1), at(2));
            line += &format!(
                " {t1:>10.0} {t2:>10.0} {:>9.1}x {:>9.1}x {:>4}/{}",
                one / t1,
                one / t2,
                t.labels_equal,
                images.len()
            );
            if t.labels_equal != images.len() as u64 || t.logits_equal != images.len() as u64 {
                unequal.push(format!(
                    "{name}: PyTorch labels equal on {} and logits on {} of {} images{}",
                    t.labels_equal,
                    t.logits_equal,
                    images.len(),
                    if t.float32_exact { "" } else { " (accumulators may exceed 2^24, where float32 rounds)" }
                ));
            }
        }
        println!("{line}");
    }
    println!("\nimages/s; 1T = one thread; ratios within this run");
    if !unequal.is_empty() {
        bail!("the PyTorch rebuild disagrees with the golden model:\n  {}", unequal.join("\n  "));
    }
    Ok(())
}
