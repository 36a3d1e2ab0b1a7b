use std::path::PathBuf;

/// Expected layout, quoted by every error about the tree's shape so the user knows what to fix.
pub const EXPECTED_LAYOUT: &str = "<root>/{train,test,val}/{NORMAL,PNEUMONIA}/*.{jpeg,jpg,png}";

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error(
        "missing directory {dir}: a chest_xray tree must be laid out as {EXPECTED_LAYOUT}; point the data root at such \
         a tree (e.g. `--data DIR`) or run `cargo xtask data` to (re)create the vendored copy in data/chest_xray"
    )]
    MissingDirectory { dir: PathBuf },

    #[error("no images in {dir}: each class directory needs at least one .jpeg/.jpg/.png file ({EXPECTED_LAYOUT})")]
    NoImages { dir: PathBuf },

    #[error(
        "unexpected entry {path}: class directories may hold only .jpeg/.jpg/.png image files (and hidden files, which \
         are ignored); move it out of the data tree"
    )]
    UnexpectedEntry { path: PathBuf },

    #[error("cannot read {path}: {source}; check that the file exists and is readable")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "cannot decode image {path}: {reason}; the file is corrupt, truncated or not an image: replace or remove it"
    )]
    Decode { path: PathBuf, reason: String },

    #[error("image {path} has zero width or height; replace or remove it")]
    EmptyImage { path: PathBuf },

    #[error("image size must be at least 1 pixel, got {0}")]
    InvalidSize(usize),

    #[error(
        "two images in {dir} share the stem {stem:?}; the vendored copy names files by stem, so rename or remove one"
    )]
    DuplicateStem { dir: PathBuf, stem: String },

    #[error("cannot encode {path} as PNG: {reason}")]
    Encode { path: PathBuf, reason: String },

    #[error("cannot write {path}: {source}; check free space and permissions")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

pub(crate) fn read_error(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> DataError {
    let path = path.into();
    move |source| DataError::Read { path, source }
}

pub(crate) fn write_error(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> DataError {
    let path = path.into();
    move |source| DataError::Write { path, source }
}
