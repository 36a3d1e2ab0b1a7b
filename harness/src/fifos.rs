//! FIFO depths from simulation, as FINN sizes them: build the accelerator with deep FIFOs, stream
//! images through it at full rate, keep each FIFO's peak occupancy plus a margin. Layers that
//! produce in bursts (a max-pool emits only on odd rows, a folded MVTU emits PE outputs per fold)
//! need room for the burst, or their producer stalls and the throughput the folding was chosen for
//! is lost; deep FIFOs everywhere would cost block RAM for nothing.
//!
//! The sized design is simulated again; if it is slower than the deep one (more than 1 %), the
//! margins double and it is sized again, so what comes out keeps the throughput.

use crate::{accel, cosim, paths};
use anyhow::{Context, Result, bail};
use golden_model::Model;
use rtlgen::{Accelerator, Folding, Kind, Limits, ProbeKind};
use sha2::{Digest, Sha256};

/// Depth of every FIFO while measuring (the largest burst of the default models is a few hundred
/// beats; a dense layer's FIFO is also sized to hold its whole input vector by the generator).
const DEEP: usize = 4096;
/// Images streamed back to back while measuring: the later ones see the steady state, where
/// one image's tail overlaps the next one's head.
const IMAGES: usize = 4;

/// The automatic folding for `target_ii` within `limits`, with FIFO depths sized by simulation.
pub fn auto_folding(model: &Model, target_ii: Option<u64>, limits: Limits, progress: &mut dyn FnMut(&str)) -> Result<Folding> {
    let folding = Folding::auto(model, target_ii, limits).map_err(anyhow::Error::msg)?;
    size(model, &folding, progress)
}

/// `folding` with `fifo_depths` from the peak occupancies of a simulation with deep FIFOs.
pub fn size(model: &Model, folding: &Folding, progress: &mut dyn FnMut(&str)) -> Result<Folding> {
    let key = {
        let mut h = Sha256::new();
        h.update(model.content_hash());
        h.update(serde_json::to_vec(folding)?);
        for src in rtlgen::GENERATOR_SOURCES {
            h.update(src);
        }
        h.update(include_str!("fifos.rs"));
        for p in rtlgen::rtl_sources() {
            h.update(std::fs::read(&p).with_context(|| format!("cannot read {}", p.display()))?);
        }
        hex::encode(h.finalize())
    };
    let cache = paths::target_dir().join("fifo-sizing").join(format!("{}.json", &key[..16]));
    if let Ok(text) = std::fs::read_to_string(&cache)
        && let Ok(f) = serde_json::from_str::<Folding>(&text)
    {
        return Ok(f);
    }
    let images = images(model);
    let n = model.layers().len();
    let mut deep = folding.clone();
    deep.fifo_depths = (0..n).map(|i| (i + 1 < n).then_some(DEEP)).collect();
    progress("FIFO sizing: simulating the accelerator with deep FIFOs");
    let (deep_ii, peaks) = measure(model, &deep, &images)?;
    let mut margin = 1;
    for _ in 0..4 {
        let mut sized = folding.clone();
        sized.fifo_depths = (0..n)
            .map(|i| peaks.get(&i).map(|&p| (p + (p / 8).max(2) * margin).max(2)))
            .collect();
        let (ii, _) = measure(model, &sized, &images)?;
        progress(&format!(
            "FIFO sizing: depths {:?}, II {ii} cycles (deep FIFOs: {deep_ii})",
            sized.fifo_depths.iter().flatten().collect::<Vec<_>>()
        ));
        if ii as f64 <= deep_ii as f64 * 1.01 {
            golden_model::io::write_atomic(&cache, serde_json::to_string_pretty(&sized)?.as_bytes())?;
            return Ok(sized);
        }
        margin *= 2;
    }
    bail!("FIFO sizing did not reach the deep-FIFO throughput ({deep_ii} cycles per image) after doubling the margins 3 times")
}

/// No module's timing depends on the data it carries, so any images of the right shape measure
/// the same occupancies; a fixed pattern keeps the result independent of the data set.
fn images(model: &Model) -> Vec<Vec<u8>> {
    let len = model.input_shape().len();
    (0..IMAGES).map(|k| (0..len).map(|i| ((i * 7 + k * 31) % 256) as u8).collect()).collect()
}

/// Steady-state cycles per image and, per layer, the peak occupancy of the FIFO after it.
fn measure(model: &Model, folding: &Folding, images: &[Vec<u8>]) -> Result<(u64, std::collections::BTreeMap<usize, usize>)> {
    let acc: Accelerator = accel::prepare(model, folding)?;
    let lib = cosim::library(&acc, cosim::BuildMode::FAST)?;
    let mut sim = cosim::new_sim(&lib, &acc, 1, None)?;
    let refs: Vec<&[u8]> = images.iter().map(|v| v.as_slice()).collect();
    let out = cosim::run_images(&mut sim, &acc, &refs, &sim::Stalls::none(), crate::verify::WATCHDOG)?;
    let ii = out[out.len() - 1].output_cycle - out[out.len() - 2].output_cycle;
    let values = sim.probe_values();
    sim.close()?;
    let mut peaks = std::collections::BTreeMap::new();
    for (p, v) in acc.probes.iter().zip(values) {
        if p.kind == ProbeKind::Peak {
            let st = acc.stages.iter().find(|s| s.name == p.stage && s.kind == Kind::Fifo).expect("peak probes are on FIFOs");
            peaks.insert(st.layer, v as usize);
        }
    }
    Ok((ii, peaks))
}
