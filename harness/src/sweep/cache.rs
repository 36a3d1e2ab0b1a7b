//! Trained models of a sweep, cached at `<out>/models/<job-id>.qnn.json`.
//!
//! A cached model is reused only when its stamp (`<job-id>.train.json`, written after the model)
//! records the same training configuration and the model file still has the recorded content hash;
//! otherwise it is trained again. A changed trainer default (epochs, learning rate, ...) therefore
//! retrains instead of silently reusing a model trained differently.

use super::plan::Job;
use anyhow::{Context, Result};
use golden_model::Model;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use train::{Arch, Bits, TrainConfig, TrainData};

/// What a cached model was trained with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stamp {
    pub config: TrainConfig,
    pub model_hash: String,
}

pub struct ModelFiles {
    pub model: PathBuf,
    pub stamp: PathBuf,
    pub log: PathBuf,
    pub curve: PathBuf,
}

pub fn files(out: &Path, job: &Job) -> ModelFiles {
    let dir = out.join("models");
    let id = job.id();
    ModelFiles {
        model: dir.join(format!("{id}.qnn.json")),
        stamp: dir.join(format!("{id}.train.json")),
        log: dir.join(format!("{id}.log.json")),
        curve: dir.join(format!("{id}.curve.svg")),
    }
}

/// The training configuration of a job: the trainer's defaults for its architecture and bits, with
/// `epochs` when given.
pub fn train_config(job: &Job, epochs: Option<usize>) -> Result<TrainConfig> {
    let arch: Arch = job.arch.parse().map_err(anyhow::Error::msg)?;
    let bits = Bits::new(job.bits.wbits, job.bits.abits, job.bits.in_bits).map_err(anyhow::Error::msg)?;
    let mut cfg = TrainConfig::new(arch, bits, job.seed);
    if let Some(e) = epochs {
        anyhow::ensure!(e > 0, "--epochs must be at least 1");
        cfg.epochs = e;
    }
    Ok(cfg)
}

/// The cached model of `job` if it was trained with exactly `cfg`; `None` for anything else (absent,
/// unreadable, corrupt, different configuration), which means "train it".
pub fn cached(out: &Path, job: &Job, cfg: &TrainConfig) -> Option<Model> {
    let f = files(out, job);
    let stamp: Stamp = serde_json::from_str(&std::fs::read_to_string(&f.stamp).ok()?).ok()?;
    if &stamp.config != cfg {
        return None;
    }
    let model = Model::load(&f.model).ok()?;
    (model.content_hash() == stamp.model_hash).then_some(model)
}

/// Records that the model at `files(out, job).model` was trained with `cfg`.
pub fn stamp(out: &Path, job: &Job, cfg: &TrainConfig, model: &Model) -> Result<()> {
    let f = files(out, job);
    let s = Stamp { config: cfg.clone(), model_hash: model.content_hash() };
    let mut text = serde_json::to_string_pretty(&s)?;
    text.push('\n');
    golden_model::io::write_atomic(&f.stamp, text.as_bytes())
        .with_context(|| format!("cannot write {}", f.stamp.display()))
}

/// Train and validation data, loaded on first use: a sweep whose models are all cached never reads it.
pub struct LazyData {
    root: PathBuf,
    data: Option<TrainData>,
}

impl LazyData {
    pub fn new(root: PathBuf) -> Self {
        LazyData { root, data: None }
    }
    pub fn get(&mut self, progress: &mut dyn FnMut(&str)) -> Result<&TrainData> {
        if self.data.is_none() {
            progress(&format!("loading train and validation splits from {}", self.root.display()));
            self.data = Some(TrainData::load(&self.root, train::arch::INPUT_SIZE)?);
        }
        Ok(self.data.as_ref().expect("loaded above"))
    }
}

/// The job's model file: reused when valid, trained (and cached) otherwise. Returns the path and
/// whether it was reused.
pub fn ensure_model(
    out: &Path,
    job: &Job,
    cfg: &TrainConfig,
    data: &mut LazyData,
    command: &str,
    progress: &mut dyn FnMut(&str),
) -> Result<(PathBuf, bool)> {
    let f = files(out, job);
    if cached(out, job, cfg).is_some() {
        return Ok((f.model, true));
    }
    progress(&format!("training {} epochs (cached afterwards at {})", cfg.epochs, f.model.display()));
    let data = data.get(progress)?;
    let opts = train::RunOptions {
        command: command.to_string(),
        quiet: false,
        log_path: Some(f.log.clone()),
        curve_path: Some(f.curve.clone()),
    };
    let outcome = train::train(data, cfg, &opts).with_context(|| format!("training {}", job.id()))?;
    outcome.model.save(&f.model).with_context(|| format!("cannot write {}", f.model.display()))?;
    stamp(out, job, cfg, &outcome.model)?;
    Ok((f.model, false))
}
