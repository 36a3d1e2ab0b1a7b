//! Chest X-ray images (Kermany et al., CC BY 4.0): the vendored copy in `data/chest_xray`, a loader for
//! any `chest_xray/{train,test,val}/{NORMAL,PNEUMONIA}/*.{jpeg,jpg,png}` tree at any image size, and the
//! patient-grouped validation split carved from train.
//!
//! API skeleton: bodies are being filled in.

use std::path::{Path, PathBuf};

/// Side of the square images the models use (vendored copy and default load size).
pub const DEFAULT_SIZE: usize = 64;

/// Class index: 0 = NORMAL, 1 = PNEUMONIA (the positive class).
pub const CLASSES: [&str; 2] = ["NORMAL", "PNEUMONIA"];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Split {
    /// Official train split minus the validation patients.
    Train,
    /// About 10 % of the official train split, grouped by patient id, deterministic.
    Val,
    /// The official 624-image test split: final reporting only.
    Test,
    /// The official 16-image val split (too small to select anything on).
    OfficialVal,
}

#[derive(Clone, Debug)]
pub struct Sample {
    /// `size * size` grayscale pixels, row-major.
    pub pixels: Vec<u8>,
    /// 0 = NORMAL, 1 = PNEUMONIA.
    pub label: u8,
    /// Path relative to the data root, e.g. `test/NORMAL/IM-0001-0001.png`.
    pub path: PathBuf,
    /// Patient id parsed from the file name (`person1000`, `IM-0115`, `NORMAL2-IM-1427`).
    pub patient: String,
}

#[derive(Clone, Debug)]
pub struct Dataset {
    pub size: usize,
    pub split: Split,
    pub samples: Vec<Sample>,
}

#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{0}")]
    Todo(String),
}

/// The vendored copy: `<workspace>/data/chest_xray`.
pub fn default_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace").join("data/chest_xray")
}

impl Dataset {
    /// Loads one split from a `chest_xray` tree, converting to grayscale and resizing to `size x size`.
    pub fn load(_root: &Path, _split: Split, _size: usize) -> Result<Dataset, DataError> {
        unimplemented!()
    }
    /// SHA-256 over labels and pixels, for model provenance.
    pub fn content_hash(&self) -> String {
        unimplemented!()
    }
}
