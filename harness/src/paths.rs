//! Where things live in the workspace.

use std::path::PathBuf;

pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("harness lives in the workspace").to_path_buf()
}

/// Cargo's target directory (`CARGO_TARGET_DIR` or `<workspace>/target`): home of generated
/// accelerators and simulator builds.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| workspace_root().join("target"))
}

/// The project's default model: the committed best w1a1 model.
pub fn default_model() -> PathBuf {
    workspace_root().join("models/default.qnn.json")
}

/// Loads `path`, or the default model when `None`, with an error that says what to do.
pub fn load_model(path: Option<&std::path::Path>) -> anyhow::Result<golden_model::Model> {
    let p = path.map(PathBuf::from).unwrap_or_else(default_model);
    if path.is_none() && !p.exists() {
        anyhow::bail!(
            "no default model at {}: train one (`cargo xtask train ...`) or pass --model FILE",
            p.display()
        );
    }
    golden_model::Model::load(&p).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))
}
