//! The generator: from a golden-model file and a folding to a streaming accelerator. It writes the
//! top-level core stitching the RTL library in `rtl/`, a simulation wrapper with probes, the
//! `$readmemh` memory images and a manifest (stages, probes, estimates) that the simulator, the
//! reports and the tests read.

pub mod emit;
pub mod estimate;
pub mod folding;
pub mod mem;
pub mod plan;

pub use emit::{CORE, Probe, ProbeKind, SIM_TOP};
pub use estimate::{Device, LayerEstimate, Resources};
pub use folding::{Folding, LayerFold, Limits};
pub use plan::{Kind, Param, Stage};

use golden_model::Model;

/// The generator's own source text: part of the cache key of every generated directory, since
/// what a directory holds depends on it as much as on the model and the folding.
pub const GENERATOR_SOURCES: &[&str] = &[
    include_str!("lib.rs"),
    include_str!("plan.rs"),
    include_str!("emit.rs"),
    include_str!("mem.rs"),
    include_str!("estimate.rs"),
    include_str!("folding.rs"),
];
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Description of a generated accelerator (`manifest.json` in its directory).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Accelerator {
    pub model_name: String,
    pub model_hash: String,
    pub folding: Folding,
    pub in_width: usize,
    pub out_width: usize,
    pub in_pixels: usize,
    pub num_classes: usize,
    /// Input beats per image.
    pub in_beats: u64,
    pub stages: Vec<Stage>,
    pub probes: Vec<Probe>,
    pub layers: Vec<LayerEstimate>,
    /// Estimated initiation interval: the slowest stage.
    pub ii_estimate: u64,
    /// Estimated latency of one image through an idle pipeline (first input beat to output).
    #[serde(default)]
    pub latency_estimate: u64,
    /// One top per model layer holding only that layer's stages, for per-layer timing and for
    /// localising a mismatch.
    pub layer_tops: Vec<LayerTop>,
    /// Directory holding `qnn_accel.sv`, `qnn_accel_sim.sv`, `mem/` and this manifest.
    pub dir: PathBuf,
}

/// A top with the stages of one model layer (`layers/<module>.sv`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LayerTop {
    pub layer: usize,
    pub name: String,
    pub module: String,
    pub in_width: usize,
    pub out_width: usize,
    pub in_ebits: usize,
    pub out_ebits: usize,
    pub in_beats: u64,
    pub out_beats: u64,
}

impl Accelerator {
    pub fn layer_file(&self, t: &LayerTop) -> PathBuf {
        self.dir.join("layers").join(format!("{}.sv", t.module))
    }
    pub fn core_file(&self) -> PathBuf {
        self.dir.join(format!("{CORE}.sv"))
    }
    pub fn sim_top_file(&self) -> PathBuf {
        self.dir.join(format!("{SIM_TOP}.sv"))
    }
    pub fn load(dir: &Path) -> anyhow::Result<Accelerator> {
        let p = dir.join("manifest.json");
        let text = std::fs::read_to_string(&p).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", p.display()))?;
        Ok(serde_json::from_str(&text)?)
    }
}

/// The RTL library directory (`<workspace>/rtl`).
pub fn rtl_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace").join("rtl")
}

/// The RTL library: every `.sv` file in `rtl/` (one module per file), sorted.
pub fn rtl_sources() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(rtl_dir())
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "sv"))
        .collect();
    v.sort();
    v
}

/// Writes the accelerator for `model` at `folding` into `dir`, replacing what was there.
pub fn generate(model: &Model, folding: &Folding, dir: &Path) -> anyhow::Result<Accelerator> {
    write(model, folding, dir, true)
}

/// Like [`generate`], but when another thread or process creates `dir` first, uses theirs: for
/// content-addressed directories that must never change under a running simulation.
pub fn generate_once(model: &Model, folding: &Folding, dir: &Path) -> anyhow::Result<Accelerator> {
    write(model, folding, dir, false)
}

fn write(model: &Model, folding: &Folding, dir: &Path, replace: bool) -> anyhow::Result<Accelerator> {
    let dir = std::path::absolute(dir)?;
    let mem_dir = dir.join("mem");
    let plan = plan::plan(model, folding, &mem_dir).map_err(|e| anyhow::anyhow!("folding: {e}"))?;
    let probes = emit::probes(&plan);
    let names: Vec<String> = model.layers().iter().map(|l| l.name.clone()).collect();
    let layers = estimate::layers(&plan, &names);
    let hash = model.content_hash();
    // A layer that is pure wiring (the identity input quantizer) has no stages and no top.
    let layer_tops: Vec<LayerTop> = (0..model.layers().len())
        .filter_map(|i| {
            let st: Vec<&Stage> = plan.stages.iter().filter(|s| s.layer == i).collect();
            let (first, last) = (st.first()?, st.last()?);
            Some(LayerTop {
                layer: i,
                name: model.layers()[i].name.clone(),
                module: emit::layer_module(i),
                in_width: first.in_width,
                out_width: last.out_width,
                in_ebits: first.in_ebits,
                out_ebits: last.out_ebits,
                in_beats: first.in_beats,
                out_beats: last.out_beats,
            })
        })
        .collect();
    let acc = Accelerator {
        model_name: model.name().to_string(),
        model_hash: hash.clone(),
        folding: folding.clone(),
        in_width: plan.in_width,
        out_width: plan.out_width,
        in_pixels: folding.in_pixels,
        num_classes: model.classes().len(),
        in_beats: folding::input_cycles(model, folding.in_pixels),
        ii_estimate: plan.stages.iter().map(|s| s.cycles).max().unwrap_or(0),
        latency_estimate: estimate::latency(&plan),
        stages: plan.stages.clone(),
        probes: probes.clone(),
        layers,
        layer_tops: layer_tops.clone(),
        dir: dir.clone(),
    };
    let header = format!("Accelerator for model `{}` ({})", model.name(), &hash[..16]);
    let parent = dir.parent().ok_or_else(|| anyhow::anyhow!("{} has no parent directory", dir.display()))?;
    std::fs::create_dir_all(parent)?;
    let tmp = tempfile::Builder::new().prefix(".gen-").tempdir_in(parent)?;
    std::fs::create_dir_all(tmp.path().join("mem"))?;
    for (name, text) in &plan.memories {
        std::fs::write(tmp.path().join("mem").join(name), text)?;
    }
    std::fs::write(tmp.path().join(format!("{CORE}.sv")), emit::core(&plan, &header))?;
    std::fs::write(tmp.path().join(format!("{SIM_TOP}.sv")), emit::sim_top(&plan, &probes))?;
    std::fs::create_dir_all(tmp.path().join("layers"))?;
    for t in &layer_tops {
        let stages: Vec<Stage> = plan.stages.iter().filter(|s| s.layer == t.layer).cloned().collect();
        let text = emit::module(&t.module, &stages, t.in_width, t.out_width, &format!("{header}, layer {} alone", t.name));
        std::fs::write(tmp.path().join("layers").join(format!("{}.sv", t.module)), text)?;
    }
    std::fs::write(tmp.path().join("manifest.json"), serde_json::to_string_pretty(&acc)?)?;
    if replace && dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    let tmp = tmp.keep();
    if let Err(e) = std::fs::rename(&tmp, &dir) {
        let _ = std::fs::remove_dir_all(&tmp);
        // Lost a race to an identical generation: theirs is as good as ours.
        return if !replace && dir.join("manifest.json").exists() { Accelerator::load(&dir) } else { Err(e.into()) };
    }
    Ok(acc)
}
