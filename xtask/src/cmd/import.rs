//! `cargo xtask import`: a QONNX / FINN-ONNX model (Brevitas `export_qonnx`) into a golden-model file.

use anyhow::{Context, bail};
use std::path::PathBuf;

/// `1/255`, `0.00392`, `1`: the real value of one pixel step.
pub fn parse_scale(s: &str) -> Result<f64, String> {
    let bad = || format!("`{s}` is not a positive number or fraction (e.g. 1/255)");
    let v = match s.split_once('/') {
        Some((a, b)) => a.trim().parse::<f64>().map_err(|_| bad())? / b.trim().parse::<f64>().map_err(|_| bad())?,
        None => s.trim().parse::<f64>().map_err(|_| bad())?,
    };
    if v.is_finite() && v > 0.0 { Ok(v) } else { Err(bad()) }
}

#[derive(clap::Args)]
#[command(
    about = "Import a QONNX / FINN-ONNX model (Brevitas export_qonnx) as a golden-model file",
    after_help = "Reads an ONNX file as Brevitas `export_qonnx` writes it (Quant/IntQuant, BipolarQuant, Trunc in the \
qonnx.custom_op.general or onnx.brevitas domain; no opset_import needed for them) or a FINN-ONNX graph with \
MultiThreshold nodes, folds its constant subgraphs, and streamlines it into the golden model's integer ops: \
integer weights, batch norm / scales / biases / activation quantizers as multi-thresholds, the last fully \
connected layer as integer logits. Supported on the data path: MatMul, Gemm, Conv (k x k, stride 1, no \
padding), MaxPool 2x2, BatchNormalization, Mul/Div/Add/Sub by constants, Relu, Clip, Sign, Reshape, Flatten, \
Transpose, Squeeze/Unsqueeze, and a final ArgMax or TopK (k = 1). Anything else is an error naming the node, \
its op type and why.\n\n\
Pixels: the golden model takes 8-bit pixels. The graph input is `pixel * input-scale`: 1 (default) for a \
graph that takes pixels as they are (e.g. annotated UINT8), 1/255 for one trained on torchvision's \
ToTensor (p / 255).\n\n\
Prints the layers, the output scale (graph logits = output scale x integer logits) and the thresholds whose \
float boundary is exactly an integer (ties, resolved by the quantizer's own rule). The file is written to a \
temporary file and renamed; its provenance names the source file and its SHA-256.\n\n\
Examples:\n  cargo xtask import qonnx/fixtures/fc_w2a2/model.onnx --out /tmp/fc_w2a2.qnn.json --input-scale 1/255\n  \
cargo xtask import model.onnx --out model.qnn.json --classes NORMAL,PNEUMONIA"
)]
pub struct Args {
    /// The ONNX file (QONNX or FINN-ONNX)
    #[arg(value_name = "MODEL.onnx")]
    model: PathBuf,
    /// Output golden-model file (*.qnn.json)
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Real value of one pixel step at the graph input (`1/255` for p / 255 inputs) [default: 1]
    #[arg(long, value_name = "S", value_parser = parse_scale)]
    input_scale: Option<f64>,
    /// Model name [default: the file stem, or the folder of a model.onnx]
    #[arg(long)]
    name: Option<String>,
    /// Class names, comma-separated [default: 0, 1, ...]
    #[arg(long, value_delimiter = ',')]
    classes: Option<Vec<String>>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if args.out.extension().is_some_and(|e| e == "onnx") {
        bail!("--out {} ends in .onnx: the output is a golden-model file (*.qnn.json), the input is given without a flag", args.out.display());
    }
    let command = std::iter::once("cargo xtask import".to_string()).chain(std::env::args().skip(2)).collect::<Vec<_>>().join(" ");
    let opts = qonnx::Options { input_scale: args.input_scale, name: args.name, classes: args.classes, command: Some(command) };
    let imp = qonnx::import_file(&args.model, &opts).with_context(|| format!("importing {}", args.model.display()))?;
    imp.model.save(&args.out).with_context(|| format!("writing {}", args.out.display()))?;
    println!("{}", imp.model.summary());
    println!(
        "input scale {}, output scale {:.9e} (graph logits = output scale x integer logits), {} tie thresholds{}",
        imp.input_scale,
        imp.output_scale,
        imp.near_ties.len(),
        if imp.near_ties.is_empty() { String::new() } else { " (float boundary exactly on an integer; resolved as the quantizer rounds)".into() }
    );
    println!("wrote {} ({})", args.out.display(), imp.model.content_hash());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_scale;

    #[test]
    fn scales() {
        assert_eq!(parse_scale("1/255").unwrap(), 1.0 / 255.0);
        assert_eq!(parse_scale("0.5").unwrap(), 0.5);
        assert!(parse_scale("0").is_err());
        assert!(parse_scale("1/0").is_err());
        assert!(parse_scale("-1").is_err());
        assert!(parse_scale("x").is_err());
    }
}
