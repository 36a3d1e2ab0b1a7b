//! Who made a report, from what: git commit, tool versions, model identity.

use super::{ModelInfo, Tools};
use golden_model::ops::OutputStage;
use golden_model::{Model, Op};
use std::path::Path;
use std::process::Command;

fn first_line(cmd: &str, args: &[&str]) -> String {
    Command::new(cmd)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.lines().next().map(str::trim).map(String::from))
        .unwrap_or_else(|| "unknown".into())
}

/// (commit, dirty) of the workspace, or ("unknown", false) outside a git checkout.
pub fn git_state(root: &Path) -> (String, bool) {
    let root = root.display().to_string();
    let commit = first_line("git", &["-C", &root, "rev-parse", "HEAD"]);
    let dirty = Command::new("git")
        .args(["-C", &root, "status", "--porcelain", "--untracked-files=no"])
        .output()
        .is_ok_and(|o| o.status.success() && !o.stdout.is_empty());
    (commit, dirty)
}

/// Tool versions; `yosys` is the synthesizer that ran, or Debian's Yosys when none did.
pub fn tools(verilator: String, synthesizer: Option<crate::synth::Synthesizer>) -> Tools {
    Tools {
        verilator,
        yosys: synthesizer.unwrap_or_default().version().unwrap_or_else(|_| "not installed".into()),
        rustc: first_line("rustc", &["--version"]),
    }
}

/// UTC now as RFC 3339, without a date-time crate: days-from-civil arithmetic on the Unix clock.
pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's civil_from_days.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + (m <= 2) as i64;
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

pub fn model_info(model: &Model, file: &Path, root: &Path) -> ModelInfo {
    let mut wbits = 0;
    let mut abits = 0;
    let mut in_bits = 0;
    let mut parameters = 0u64;
    for l in model.layers() {
        let mv = match &l.op {
            Op::InputQuant(q) => {
                in_bits = q.out_type().bits;
                continue;
            }
            Op::Conv(c) => c.matvec(),
            Op::Dense(d) => d.matvec(),
            Op::MaxPool => continue,
        };
        wbits = wbits.max(mv.weight_type().bits);
        if let OutputStage::Threshold(t) = mv.output() {
            abits = abits.max(t.out_type().bits);
        }
        parameters += (mv.rows() * mv.cols()) as u64;
    }
    let file = file.strip_prefix(root).unwrap_or(file).display().to_string();
    ModelInfo {
        name: model.name().to_string(),
        file,
        hash: model.content_hash(),
        arch: model.provenance.arch.clone(),
        wbits,
        abits,
        in_bits,
        layers: model.summary().lines().map(String::from).collect(),
        parameters,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc3339_shape() {
        let s = super::now_rfc3339();
        assert_eq!(s.len(), 20, "{s}");
        assert!(s.starts_with("20") && s.ends_with('Z'), "{s}");
    }
}
