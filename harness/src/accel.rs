//! A model's accelerator, generated once per (model, folding) under `target/accel/`.

use crate::paths;
use rtlgen::{Accelerator, Folding};
use golden_model::Model;
use sha2::{Digest, Sha256};

/// Generates the accelerator unless an identical one is already there.
pub fn prepare(model: &Model, folding: &Folding) -> anyhow::Result<Accelerator> {
    let key = {
        let mut h = Sha256::new();
        h.update(model.content_hash());
        h.update(serde_json::to_vec(folding)?);
        // The generator's own source is part of what the directory holds.
        for src in rtlgen::GENERATOR_SOURCES {
            h.update(src);
        }
        hex::encode(h.finalize())
    };
    let dir = paths::target_dir().join("accel").join(&key[..16]);
    if let Ok(acc) = Accelerator::load(&dir) {
        return Ok(acc);
    }
    rtlgen::generate_once(model, folding, &dir)
}

/// The folding of a build: an explicit folding file (checked against the model), or the automatic
/// folding for `target_ii` within `limits` with FIFO depths sized by simulation.
pub fn folding(
    model: &Model,
    explicit: Option<&std::path::Path>,
    target_ii: Option<u64>,
    limits: rtlgen::Limits,
    progress: &mut dyn FnMut(&str),
) -> anyhow::Result<Folding> {
    use anyhow::Context;
    match explicit {
        Some(p) => {
            let text = std::fs::read_to_string(p).with_context(|| format!("cannot read folding {}", p.display()))?;
            let f: Folding = serde_json::from_str(&text).with_context(|| format!("{} is not a folding JSON", p.display()))?;
            f.validate(model).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
            Ok(f)
        }
        None => crate::fifos::auto_folding(model, target_ii, limits, progress),
    }
}
