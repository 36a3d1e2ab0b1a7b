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
    Ok(())
}
