//! Chest X-ray images (Kermany et al., Cell 2018, CC BY 4.0): the vendored copy in `data/chest_xray`,
//! a loader for any `chest_xray/{train,test,val}/{NORMAL,PNEUMONIA}/*.{jpeg,jpg,png}` tree at any image
//! size, and the patient-grouped validation split carved from train.
//!
//! Loading converts every image to 8-bit grayscale and resizes it to `size x size` by exact area
//! averaging (see [`resize_area`]). Samples are ordered by their path relative to the root.

mod decode;
mod error;
mod layout;
mod parallel;
mod patient;
mod resize;
mod split;
pub mod vendor;

pub use decode::{decode_grayscale, load_image};
pub use error::{DataError, EXPECTED_LAYOUT};
pub use layout::IMAGE_EXTENSIONS;
pub use patient::patient_id;
pub use resize::resize_area;
pub use split::VAL_PERCENT;

use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Side of the square images the models use (vendored copy and default load size).
pub const DEFAULT_SIZE: usize = 64;

/// Class index: 0 = NORMAL, 1 = PNEUMONIA (the positive class).
pub const CLASSES: [&str; 2] = ["NORMAL", "PNEUMONIA"];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
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

impl Split {
    pub const ALL: [Split; 4] = [Split::Train, Split::Val, Split::Test, Split::OfficialVal];

    /// Folder of the official split the images come from.
    pub fn folder(self) -> &'static str {
        match self {
            Split::Train | Split::Val => "train",
            Split::Test => "test",
            Split::OfficialVal => "val",
        }
    }

    /// Name used on the command line and in reports: `train`, `val`, `test`, `official-val`.
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Val => "val",
            Split::Test => "test",
            Split::OfficialVal => "official-val",
        }
    }
}

impl std::fmt::Display for Split {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Split {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Split::ALL.into_iter().find(|x| x.name() == s).ok_or_else(|| {
            format!(
                "unknown split {s:?}; use one of: {}",
                Split::ALL.map(Split::name).join(", ")
            )
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
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

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dataset {
    pub size: usize,
    pub split: Split,
    pub samples: Vec<Sample>,
}

/// The vendored copy: `<workspace>/data/chest_xray`.
pub fn default_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace")
        .join("data/chest_xray")
}

impl Dataset {
    /// Loads one split from a `chest_xray` tree, converting to grayscale and resizing to `size x size`.
    pub fn load(root: &Path, split: Split, size: usize) -> Result<Dataset, DataError> {
        if size == 0 {
            return Err(DataError::InvalidSize(size));
        }
        let mut files = layout::list_folder(root, split.folder())?;
        if matches!(split, Split::Train | Split::Val) {
            let val = split::validation_patients(&files);
            let want_val = split == Split::Val;
            files.retain(|f| val.contains(&f.patient) == want_val);
        }
        let rels: Vec<&Path> = files.iter().map(|f| f.rel.as_path()).collect();
        let images = decode::load_images(root, &rels, size)?;
        let samples = files
            .into_iter()
            .zip(images)
            .map(|(f, image)| Sample {
                pixels: image.pixels,
                label: f.label,
                path: f.rel,
                patient: f.patient,
            })
            .collect();
        Ok(Dataset { size, split, samples })
    }

    /// SHA-256 (lower-case hex) over the image size (u64 little-endian), the sample count (u64 LE)
    /// and, per sample in order, its label byte followed by its pixels. Paths and patient ids are
    /// left out: two trees with the same images in the same order hash equal.
    pub fn content_hash(&self) -> String {
        let mut h = Sha256::new();
        h.update((self.size as u64).to_le_bytes());
        h.update((self.samples.len() as u64).to_le_bytes());
        for s in &self.samples {
            h.update([s.label]);
            h.update(&s.pixels);
        }
        hex::encode(h.finalize())
    }

    pub fn len(&self) -> usize {
        self.samples.len()
    }

    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// Number of samples per class, indexed by label.
    pub fn class_counts(&self) -> [usize; 2] {
        let mut counts = [0; 2];
        for s in &self.samples {
            counts[s.label as usize] += 1;
        }
        counts
    }

    pub fn labels(&self) -> Vec<u8> {
        self.samples.iter().map(|s| s.label).collect()
    }

    pub fn patients(&self) -> BTreeSet<&str> {
        self.samples.iter().map(|s| s.patient.as_str()).collect()
    }
}
