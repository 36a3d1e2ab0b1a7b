//! Measuring a model's accelerator: golden and RTL accuracy on the test split, latency and II from
//! simulation, resources from Yosys. (Being implemented by the lead.)

use super::Report;
use crate::rtlgen::Limits;
use std::path::PathBuf;

#[derive(Clone, Debug)]
pub struct BuildOptions {
    /// Model file; `None` = the default model.
    pub model: Option<PathBuf>,
    /// Data root (default: the vendored copy).
    pub data: Option<PathBuf>,
    /// Explicit folding file, or automatic folding with these limits / target II.
    pub folding: Option<PathBuf>,
    pub limits: Limits,
    pub target_ii: Option<u64>,
    pub clock_mhz: f64,
    /// Simulation seed.
    pub seed: u64,
    /// Skip Yosys (resources then hold only the analytical estimates); for quick sweeps.
    pub skip_synth: bool,
    /// Run only the first N test images through the RTL (None = all 624).
    pub rtl_images: Option<usize>,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            model: None,
            data: None,
            folding: None,
            limits: Limits::default(),
            target_ii: None,
            clock_mhz: 200.0,
            seed: 1,
            skip_synth: false,
            rtl_images: None,
        }
    }
}

/// Builds, simulates and synthesizes; `progress` receives one line per long step.
pub fn build(_opts: &BuildOptions, _progress: &mut dyn FnMut(&str)) -> anyhow::Result<Report> {
    anyhow::bail!("report building is not implemented yet")
}
