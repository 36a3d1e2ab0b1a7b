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
