use thiserror::Error;

/// Why a model could not be built, loaded or run. Every message names the layer and field at fault.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ModelError {
    #[error("model file is not valid JSON of the qnn-model format: {0}")]
    Syntax(String),
    #[error("model file format `{found}` version {version} is not supported (expected `qnn-model` version 1)")]
    Format { found: String, version: u32 },
    #[error("model file checksum mismatch (stored {stored}, computed {computed}): the file is corrupt or was edited by hand; re-export it")]
    Checksum { stored: String, computed: String },
    #[error("layer {layer} ({name}): {msg}")]
    Layer { layer: usize, name: String, msg: String },
    #[error("model: {0}")]
    Model(String),
    #[error("input has {got} values, the model expects {expected} ({h}x{w}x{c} pixels)")]
    InputShape { got: usize, expected: usize, h: usize, w: usize, c: usize },
    #[error("cannot read or write model file {path}: {msg}")]
    Io { path: String, msg: String },
}

pub type Result<T, E = ModelError> = std::result::Result<T, E>;
