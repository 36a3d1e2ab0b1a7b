//! Yosys synthesis of a generated accelerator for the ZCU104's XCZU7EV (`synth_xilinx -family xcup
//! -abc9`), with cell counts per stage and per layer, device utilization and Yosys's timing estimate.
//! Hierarchy is kept so every stage instance can be counted; results are cached by content.

use crate::paths;
use rtlgen::Accelerator;
use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// XCZU7EV capacity.
pub const DEVICE: &str = "XCZU7EV (ZCU104)";
pub const CAP_LUT: f64 = 230_400.0;
pub const CAP_FF: f64 = 460_800.0;
pub const CAP_BRAM36: f64 = 312.0;
pub const CAP_URAM: f64 = 96.0;
pub const CAP_DSP: f64 = 1_728.0;

pub const SYNTH_COMMAND: &str = "synth_xilinx -family xcup -abc9 -noiopad";

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// LUTs for logic and as memory (LUTRAM, SRL), as Vivado's "CLB LUTs" counts them.
    pub lut: u64,
    pub ff: u64,
    pub bram36: u64,
    pub bram18: u64,
    pub uram: u64,
    pub dsp: u64,
    /// CARRY4 chains as Yosys maps them (Vivado would use CARRY8 on UltraScale+).
    pub carry: u64,
}

impl Counts {
    fn add_cell(&mut self, ty: &str, n: u64) {
        match ty {
            "LUT1" | "LUT2" | "LUT3" | "LUT4" | "LUT5" | "LUT6" | "LUT6_2" => self.lut += n,
            "SRL16E" | "SRLC32E" | "SRLC16E" => self.lut += n,
            "RAM32X1S" | "RAM64X1S" | "RAM32X1D" | "RAM64X1D" => self.lut += 2 * n,
            "RAM128X1S" | "RAM128X1D" | "RAM32M" | "RAM64M" => self.lut += 4 * n,
            "RAM256X1S" | "RAM256X1D" => self.lut += 8 * n,
            "RAM32M16" | "RAM64M8" => self.lut += 8 * n,
            "FDRE" | "FDSE" | "FDCE" | "FDPE" | "LDCE" | "LDPE" => self.ff += n,
            "RAMB36E2" | "RAMB36E1" => self.bram36 += n,
            "RAMB18E2" | "RAMB18E1" => self.bram18 += n,
            "URAM288" | "URAM288_BASE" => self.uram += n,
            "DSP48E2" | "DSP48E1" => self.dsp += n,
            "CARRY4" | "CARRY8" => self.carry += n,
            _ => {}
        }
    }

    fn scaled_add(&mut self, o: &Counts, n: u64) {
        self.lut += o.lut * n;
        self.ff += o.ff * n;
        self.bram36 += o.bram36 * n;
        self.bram18 += o.bram18 * n;
        self.uram += o.uram * n;
        self.dsp += o.dsp * n;
        self.carry += o.carry * n;
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Utilization {
    pub lut: f64,
    pub ff: f64,
    pub bram36: f64,
    pub uram: f64,
    pub dsp: f64,
}

impl Utilization {
    pub fn of(c: &Counts) -> Self {
        let pct = |v: f64, cap: f64| (v / cap * 100.0 * 1000.0).round() / 1000.0;
        Utilization {
            lut: pct(c.lut as f64, CAP_LUT),
            ff: pct(c.ff as f64, CAP_FF),
            // Two RAMB18 share one RAMB36 site.
            bram36: pct(c.bram36 as f64 + c.bram18 as f64 / 2.0, CAP_BRAM36),
            uram: pct(c.uram as f64, CAP_URAM),
            dsp: pct(c.dsp as f64, CAP_DSP),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SynthReport {
    /// Exact Yosys version and the synthesis command.
    pub tool: String,
    pub device: String,
    pub total: Counts,
    pub utilization_pct: Utilization,
    pub stages: BTreeMap<String, Counts>,
    /// Per model layer (sum of its stages), in layer order.
    pub layers: Vec<LayerCounts>,
    /// Yosys `sta` longest path (7-series delays, no timing arcs for carry/mux/RAM cells): an estimate.
    pub critical_path_estimate_ns: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerCounts {
    pub name: String,
    pub counts: Counts,
}

pub fn yosys_version() -> Result<String> {
    let out = Command::new("yosys").arg("-V").output().context(
        "Yosys not found: install it with `apt-get install yosys` (as root), or run `cargo xtask test` as root once",
    )?;
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn script(acc: &Accelerator, sources: &[std::path::PathBuf]) -> String {
    let files: Vec<String> = sources.iter().map(|p| p.display().to_string()).collect();
    // -defer: Yosys 0.23 would otherwise open the $readmemh defaults while reading the library.
    format!(
        "read_verilog -defer -sv {} {}\nhierarchy -top {top}\n{SYNTH_COMMAND}\n\
         tee -q -o stat.json stat -json\ntee -q -o top.il dump {top}\ntee -q -o sta.txt sta\n",
        files.join(" "),
        acc.core_file().display(),
        top = rtlgen::CORE,
    )
}

/// Synthesizes (or reuses the cached result for identical sources and Yosys version).
pub fn synthesize(acc: &Accelerator, progress: &mut dyn FnMut(&str)) -> Result<SynthReport> {
    let version = yosys_version()?;
    let sources = rtlgen::rtl_sources();
    let mut h = Sha256::new();
    h.update(&version);
    h.update(SYNTH_COMMAND);
    for p in sources.iter().chain([&acc.core_file()]) {
        h.update(std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?);
    }
    for entry in std::fs::read_dir(acc.dir.join("mem"))? {
        h.update(std::fs::read(entry?.path())?);
    }
    h.update(include_str!("synth.rs"));
    let key = hex::encode(h.finalize());
    let cache = paths::target_dir().join("synth").join(format!("{}.json", &key[..16]));
    if let Ok(text) = std::fs::read_to_string(&cache)
        && let Ok(r) = serde_json::from_str::<SynthReport>(&text)
    {
        progress("synthesis: cached result (same sources, same Yosys)");
        return Ok(r);
    }
    let timeout = synth_timeout()?;
    let work = tempfile::tempdir()?;
    std::fs::write(work.path().join("synth.ys"), script(acc, &sources))?;
    progress(&format!("synthesis: {version}, `{SYNTH_COMMAND}` (this takes a few minutes) ..."));
    let started = std::time::Instant::now();
    let mut child = Command::new("yosys")
        .current_dir(work.path())
        .args(["-q", "-l", "yosys.log", "synth.ys"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .context("cannot run yosys")?;
    // Some designs (wide multipliers under Yosys 0.23's XILINX_DSP pass) take very long: report the
    // running pass every minute, and give up with a clear error at the timeout instead of hanging.
    let mut next_note = 60;
    let status = loop {
        if let Some(status) = child.try_wait().context("waiting for yosys")? {
            break status;
        }
        let secs = started.elapsed().as_secs();
        if secs >= timeout {
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "Yosys synthesis did not finish within {timeout} s (last pass: {}); set YOSYS_TIMEOUT=<seconds> to allow \
                 more, or give `cargo xtask report`/`sweep` --skip-synth to use the generator's resource estimates instead",
                current_pass(work.path())
            );
        }
        if secs >= next_note {
            progress(&format!("synthesis: {secs} s, {}", current_pass(work.path())));
            next_note += 60;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    if !status.success() {
        let log = std::fs::read_to_string(work.path().join("yosys.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(15).collect();
        bail!(
            "Yosys synthesis failed ({}):\n{}",
            status,
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
    progress(&format!("synthesis: done in {:.0} s", started.elapsed().as_secs_f64()));
    let report = parse(acc, work.path(), version)?;
    golden_model::io::write_atomic(&cache, serde_json::to_string_pretty(&report)?.as_bytes())?;
    Ok(report)
}

/// Seconds Yosys may run: `YOSYS_TIMEOUT`, default 30 minutes.
fn synth_timeout() -> Result<u64> {
    match std::env::var("YOSYS_TIMEOUT") {
        Err(_) => Ok(1800),
        Ok(v) => v
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|&s| s > 0)
            .with_context(|| format!("YOSYS_TIMEOUT=`{v}` is not a positive number of seconds")),
    }
}

/// The pass Yosys is in, from the last `Executing` line of its log.
fn current_pass(work: &Path) -> String {
    let log = std::fs::read_to_string(work.join("yosys.log")).unwrap_or_default();
    log.lines()
        .rev()
        .find_map(|l| l.split_once(" Executing ").map(|(_, pass)| pass.trim().trim_end_matches('.').to_string()))
        .unwrap_or_else(|| "reading the design".into())
}

/// Yosys 0.23 prints the plain-text design hierarchy into the middle of `stat -json` output when the
/// design has a top module; those lines never start with a JSON token, so they are dropped.
fn stat_json(text: &str) -> Result<serde_json::Value> {
    let json: Vec<&str> = text
        .lines()
        .filter(|l| matches!(l.trim_start().chars().next(), None | Some('"' | '{' | '}' | '[' | ']')))
        .collect();
    Ok(serde_json::from_str(&json.join("\n"))?)
}

fn parse(acc: &Accelerator, work: &Path, version: String) -> Result<SynthReport> {
    let text = std::fs::read_to_string(work.join("stat.json"))?;
    let stat = stat_json(&text).with_context(|| {
        format!("Yosys wrote an unreadable stat.json in {}; see yosys.log there", work.display())
    })?;
    let modules = stat["modules"].as_object().context("stat.json has no modules")?;
    // Cells of each module, submodules expanded recursively.
    fn expand(
        name: &str,
        modules: &serde_json::Map<String, serde_json::Value>,
        memo: &mut BTreeMap<String, Counts>,
    ) -> Counts {
        if let Some(c) = memo.get(name) {
            return *c;
        }
        let mut c = Counts::default();
        if let Some(types) = modules.get(name).and_then(|m| m["num_cells_by_type"].as_object()) {
            for (ty, n) in types {
                let n = n.as_u64().unwrap_or(0);
                if modules.contains_key(ty) {
                    let sub = expand(ty, modules, memo);
                    c.scaled_add(&sub, n);
                } else {
                    c.add_cell(ty, n);
                }
            }
        }
        memo.insert(name.to_string(), c);
        c
    }
    let mut memo = BTreeMap::new();
    let top = format!("\\{}", rtlgen::CORE);
    let total = expand(&top, modules, &mut memo);
    // Instance -> module type from the dumped top module: `cell <type> \u_<stage>`.
    let il = std::fs::read_to_string(work.join("top.il"))?;
    let mut stages = BTreeMap::new();
    for line in il.lines() {
        let mut w = line.split_whitespace();
        if let (Some("cell"), Some(ty), Some(inst)) = (w.next(), w.next(), w.next())
            && let Some(stage) = inst.strip_prefix("\\u_")
        {
            stages.insert(stage.to_string(), expand(ty, modules, &mut memo));
        }
    }
    let layers = acc
        .layers
        .iter()
        .map(|l| {
            let mut c = Counts::default();
            for s in acc.stages.iter().filter(|s| s.layer == l.layer) {
                if let Some(sc) = stages.get(&s.name) {
                    c.scaled_add(sc, 1);
                }
            }
            LayerCounts { name: l.name.clone(), counts: c }
        })
        .collect();
    let sta = std::fs::read_to_string(work.join("sta.txt")).unwrap_or_default();
    // "Latest arrival time in '<module>' is <ps>:" per module; registers bound every module, so
    // the worst module is the estimate.
    let critical_ps = sta
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Latest arrival time in '")?.split("' is ").nth(1)?.trim_end_matches(':').parse::<f64>().ok())
        .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
    Ok(SynthReport {
        tool: format!("{version}; {SYNTH_COMMAND} (hierarchical, per-stage counts)"),
        device: DEVICE.into(),
        utilization_pct: Utilization::of(&total),
        total,
        stages,
        layers,
        critical_path_estimate_ns: critical_ps.map(|ps| (ps / 1000.0 * 1000.0).round() / 1000.0),
    })
}

#[cfg(test)]
mod tests {
    use super::stat_json;

    #[test]
    fn stat_json_skips_the_hierarchy_text_yosys_0_23_inserts() {
        let text = r#"{
   "creator": "Yosys 0.23",
   "modules": {
      "\\qnn_accel": { "num_cells_by_type": { "$paramod\\axis_skid\\WIDTH=8": 1, "BUFG": 1 } }
   },
       $paramod\axis_skid\WIDTH=32'00000000000000000000000000001000      1
       qnn_accel      1
      "design": { "num_cells": 2 }
}
"#;
        let v = stat_json(text).unwrap();
        assert_eq!(v["design"]["num_cells"], 2);
        assert_eq!(v["modules"]["\\qnn_accel"]["num_cells_by_type"]["BUFG"], 1);
        assert!(stat_json("{ \"modules\": ").is_err());
    }
}
