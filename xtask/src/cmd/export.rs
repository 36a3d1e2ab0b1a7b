//! `cargo xtask export`: a golden-model file as QONNX (standard ONNX ops + MultiThreshold), for FINN.

use anyhow::{Context, bail};
use golden_model::Model;
use std::path::PathBuf;

const DEFAULT_MODEL: &str = "models/default.qnn.json";

#[derive(clap::Args)]
#[command(
    about = "Export a golden-model file as QONNX (standard ONNX ops + MultiThreshold) for qonnx / FINN",
    after_help = "Writes the integer network as QONNX: Conv / MaxPool / MatMul with the integer weights as float \
tensors (annotated BIPOLAR or INTk), every activation as a MultiThreshold (qonnx.custom_op.general) with the \
golden thresholds, the logit layer as MatMul + Add, and an ArgMax. The input `x` takes the pixels as they are \
(float NCHW, annotated UINT8); the outputs are `logits` and `label`. qonnx.core.onnx_exec computes the same \
integers in float32 (a model whose accumulators could pass 2^24 is refused). The file is written to a \
temporary file and renamed.\n\n\
Examples:\n  cargo xtask export --out target/default.onnx\n  cargo xtask export --model models/w1a1.qnn.json --out w1a1.onnx"
)]
pub struct Args {
    /// Golden-model file (*.qnn.json) [default: models/default.qnn.json in the workspace]
    #[arg(long, value_name = "FILE")]
    model: Option<PathBuf>,
    /// Output ONNX file
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Also write the data set's test images, as the exported graph takes them, to FILE.npy (uint8,
    /// N x C x H x W: FINN's input.npy convention), and their golden labels to FILE.labels.npy
    #[arg(long, value_name = "FILE.npy")]
    test_inputs: Option<PathBuf>,
    /// Root of a chest_xray tree for --test-inputs [default: the vendored data/chest_xray]
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if args.out.to_string_lossy().ends_with(".qnn.json") {
        bail!("--out {} is a golden-model file name; export writes ONNX (e.g. --out model.onnx)", args.out.display());
    }
    let path = args.model.unwrap_or_else(|| crate::project_root().join(DEFAULT_MODEL));
    let model = Model::load(&path).with_context(|| format!("loading {}", path.display()))?;
    let bytes = qonnx::export(&model).map_err(anyhow::Error::msg).with_context(|| format!("exporting {}", path.display()))?;
    golden_model::io::write_atomic(&args.out, &bytes).with_context(|| format!("writing {}", args.out.display()))?;
    println!("{}", model.summary());
    println!("wrote {} ({} bytes)", args.out.display(), bytes.len());
    if let Some(npy) = &args.test_inputs {
        let s = model.input_shape();
        if s.channels != 1 || s.height != s.width {
            bail!("--test-inputs: the data set is square grayscale, the model takes {s}");
        }
        let data = dataset::Dataset::load(&args.data.clone().unwrap_or_else(dataset::default_root), dataset::Split::Test, s.height)?;
        let px: Vec<f64> = data.samples.iter().flat_map(|x| x.pixels.iter().map(|&p| p as f64)).collect();
        let n = data.samples.len();
        qonnx::npy::write(npy, &[n, 1, s.height, s.width], &px, qonnx::npy::Dtype::U8)?;
        let images: Vec<&[u8]> = data.samples.iter().map(|x| x.pixels.as_slice()).collect();
        let labels: Vec<f64> = model.infer_batch(&images).map_err(|(i, e)| anyhow::anyhow!("image {i}: {e}"))?.iter().map(|r| r.label as f64).collect();
        let lpath = npy.with_extension("labels.npy");
        qonnx::npy::write(&lpath, &[n], &labels, qonnx::npy::Dtype::I64)?;
        println!("wrote {} ({n} test images) and {} (golden labels)", npy.display(), lpath.display());
    }
    Ok(())
}
