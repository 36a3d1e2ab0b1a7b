//! `cargo xtask data`: derive the vendored data set from the shared 128x128 copy.

use anyhow::Context;
use dataset::vendor::{VendorRequest, vendor};
use std::path::PathBuf;
use std::time::Instant;

/// Source used when `--source` is not given, relative to the workspace root.
const DEFAULT_SOURCE: &str = "../shared/data/chest_xray/png128";

#[derive(clap::Args)]
#[command(
    about = "Derive the vendored data set (data/chest_xray) from the shared 128x128 copy",
    after_help = "Derive the vendored data set data/chest_xray from a chest_xray tree \
                  ({train,test,val}/{NORMAL,PNEUMONIA}/*.{jpeg,jpg,png}).\n\n\
                  Every image is converted to 8-bit grayscale, resized to SIZE x SIZE by exact area averaging \
                  and written as a PNG, together with MANIFEST.tsv (sha256 of every file) and PROVENANCE.md \
                  (credit, licence, chain of derivations, this command). The output is byte-identical on a \
                  re-run, and the copy is built in a staging directory and swapped in only when complete."
)]
pub struct Args {
    /// Source chest_xray tree (relative paths are taken from the workspace root)
    #[arg(long, value_name = "DIR", default_value = DEFAULT_SOURCE)]
    source: PathBuf,
    /// Side of the square output images in pixels
    #[arg(long, value_name = "N", default_value_t = dataset::DEFAULT_SIZE)]
    size: usize,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let root = crate::project_root();
    let source = root.join(&args.source);
    let dest = dataset::default_root();
    let source_label = args.source.display().to_string();
    let command = format!("cargo xtask data --source {source_label} --size {}", args.size);
    if !source.is_dir() {
        anyhow::bail!(
            "source directory {} does not exist; pass --source DIR pointing at a chest_xray tree \
             ({}), e.g. the shared 128x128 copy",
            source.display(),
            dataset::EXPECTED_LAYOUT
        );
    }
    let start = Instant::now();
    let summary = vendor(&VendorRequest {
        source: &source,
        source_label: &source_label,
        dest: &dest,
        size: args.size,
        command: &command,
    })
    .with_context(|| format!("vendoring {} into {}", source.display(), dest.display()))?;
    println!("wrote {} ({:.1} s)", dest.display(), start.elapsed().as_secs_f64());
    for ((folder, class), n) in summary.counts() {
        println!("  {folder:<5} {class:<9} {n:>5}");
    }
    println!(
        "  {} images, {} bytes of PNG, {} duplicate groups kept as upstream",
        summary.entries.len(),
        summary.image_bytes(),
        summary.duplicate_groups.len()
    );
    Ok(())
}
