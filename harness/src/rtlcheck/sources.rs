//! Which RTL library a check simulates: the workspace's `rtl/` or, for the mutation run, a mutated
//! copy of it. Builds list only the files a top needs, so a mutation in one file rebuilds only the
//! configurations that instantiate it.

use anyhow::{Context, Result, bail};
use std::collections::BTreeSet;
use std::path::PathBuf;

/// Environment variable that points every check at another RTL directory (a mutated copy).
pub const RTL_DIR_ENV: &str = "RTLCHECK_RTL_DIR";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RtlSources {
    pub dir: PathBuf,
}

impl Default for RtlSources {
    fn default() -> Self {
        RtlSources { dir: rtlgen::rtl_dir() }
    }
}

impl RtlSources {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        RtlSources { dir: dir.into() }
    }

    /// `$RTLCHECK_RTL_DIR` when set, else the workspace's `rtl/`.
    pub fn from_env() -> Self {
        match std::env::var_os(RTL_DIR_ENV).filter(|v| !v.is_empty()) {
            Some(d) => RtlSources::new(d),
            None => RtlSources::default(),
        }
    }

    /// Module names of the library (one module per `<name>.sv`), sorted.
    pub fn modules(&self) -> Result<Vec<String>> {
        let entries = std::fs::read_dir(&self.dir)
            .with_context(|| format!("cannot read the RTL directory {}", self.dir.display()))?;
        let mut v = vec![];
        for e in entries {
            let p = e?.path();
            if p.extension().is_some_and(|x| x == "sv")
                && let Some(stem) = p.file_stem().and_then(|s| s.to_str())
            {
                v.push(stem.to_string());
            }
        }
        v.sort();
        if v.is_empty() {
            bail!("no .sv files in the RTL directory {}", self.dir.display());
        }
        Ok(v)
    }

    pub fn file(&self, module: &str) -> PathBuf {
        self.dir.join(format!("{module}.sv"))
    }

    /// `top` and every library module it instantiates, directly or not.
    pub fn closure(&self, top: &str) -> Result<BTreeSet<String>> {
        self.closure_of(&[top])
    }

    /// Union of the closures of `tops`.
    pub fn closure_of(&self, tops: &[&str]) -> Result<BTreeSet<String>> {
        let all = self.modules()?;
        let mut done = BTreeSet::new();
        let mut todo: Vec<String> = tops.iter().map(|t| t.to_string()).collect();
        while let Some(m) = todo.pop() {
            if !done.insert(m.clone()) {
                continue;
            }
            let path = self.file(&m);
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("module `{m}`: cannot read {}", path.display()))?;
            let code = strip_comments(&text);
            for other in &all {
                if other != &m && !done.contains(other) && instantiates(&code, other) {
                    todo.push(other.clone());
                }
            }
        }
        Ok(done)
    }

    /// Source files of `modules` (from [`RtlSources::closure`]), in name order.
    pub fn files(&self, modules: &BTreeSet<String>) -> Vec<PathBuf> {
        modules.iter().map(|m| self.file(m)).collect()
    }
}

/// Whether `code` has an instance of `module`: its name as a whole word followed by `#(` or an
/// instance name and `(`.
fn instantiates(code: &str, module: &str) -> bool {
    let bytes = code.as_bytes();
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'$';
    let mut from = 0;
    while let Some(pos) = code[from..].find(module) {
        let start = from + pos;
        let end = start + module.len();
        from = end;
        if (start > 0 && is_word(bytes[start - 1])) || (end < bytes.len() && is_word(bytes[end])) {
            continue;
        }
        let rest = code[end..].trim_start();
        if rest.starts_with('#') {
            return true;
        }
        let ident: String = rest.chars().take_while(|&c| c.is_ascii_alphanumeric() || c == '_').collect();
        if !ident.is_empty() && rest[ident.len()..].trim_start().starts_with('(') {
            return true;
        }
    }
    false
}

fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("//") {
            rest = r.find('\n').map_or("", |i| &r[i..]);
        } else if let Some(r) = rest.strip_prefix("/*") {
            rest = r.find("*/").map_or("", |i| &r[i + 2..]);
        } else {
            let c = rest.chars().next().expect("non-empty");
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_instances_but_not_mentions() {
        let code = strip_comments("// uses axis_skid here\n  axis_skid #(\n .WIDTH(4)) u_out (.*);\n");
        assert!(instantiates(&code, "axis_skid"));
        assert!(!instantiates(&strip_comments("// axis_skid #(\n"), "axis_skid"));
        assert!(instantiates("  rom_sync u_rom (.ap_clk);", "rom_sync"));
        assert!(!instantiates("logic rom_sync_q;", "rom_sync"));
    }

    #[test]
    fn mvtu_needs_its_helpers() {
        let c = RtlSources::default().closure("mvtu").unwrap();
        for m in ["mvtu", "rom_sync", "multithreshold", "axis_skid"] {
            assert!(c.contains(m), "{m} missing from {c:?}");
        }
        assert!(!c.contains("stream_fifo"));
    }
}
