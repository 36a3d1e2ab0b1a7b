//! Finding the image files of one official split folder (`train`, `test` or `val`).

use crate::CLASSES;
use crate::error::{DataError, read_error};
use crate::patient::patient_id;
use std::path::{Path, PathBuf};

/// File name extensions accepted as images, compared case-insensitively.
pub const IMAGE_EXTENSIONS: [&str; 3] = ["jpeg", "jpg", "png"];

/// One image file of the tree, before decoding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ImageFile {
    /// Relative to the data root, e.g. `train/NORMAL/IM-0115-0001.png`.
    pub rel: PathBuf,
    pub label: u8,
    pub stem: String,
    pub patient: String,
}

pub(crate) fn is_image_name(name: &str) -> bool {
    Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.iter().any(|x| e.eq_ignore_ascii_case(x)))
}

/// All images of `root/<folder>/{NORMAL,PNEUMONIA}`, sorted by relative path so that every run sees
/// the same order whatever the file system's directory order.
pub(crate) fn list_folder(root: &Path, folder: &str) -> Result<Vec<ImageFile>, DataError> {
    for dir in [root.to_path_buf(), root.join(folder)] {
        if !dir.is_dir() {
            return Err(DataError::MissingDirectory { dir });
        }
    }
    let mut files = Vec::new();
    for (label, class) in CLASSES.iter().enumerate() {
        let rel_dir = Path::new(folder).join(class);
        let dir = root.join(&rel_dir);
        if !dir.is_dir() {
            return Err(DataError::MissingDirectory { dir });
        }
        let before = files.len();
        for entry in std::fs::read_dir(&dir).map_err(read_error(&dir))? {
            let entry = entry.map_err(read_error(&dir))?;
            let name = entry.file_name();
            let path = entry.path();
            let Some(name) = name.to_str() else {
                return Err(DataError::UnexpectedEntry { path });
            };
            // Hidden files are file-system or OS clutter (.DS_Store, editor swap files), never images.
            if name.starts_with('.') {
                continue;
            }
            // `metadata` follows symlinks, so a linked image counts as an image.
            let is_file = std::fs::metadata(&path).map_err(read_error(&path))?.is_file();
            if !is_file || !is_image_name(name) {
                return Err(DataError::UnexpectedEntry { path });
            }
            let stem = Path::new(name)
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or(name)
                .to_string();
            files.push(ImageFile {
                rel: rel_dir.join(name),
                label: label as u8,
                patient: patient_id(&stem),
                stem,
            });
        }
        if files.len() == before {
            return Err(DataError::NoImages { dir });
        }
    }
    files.sort_by(|a, b| a.rel.cmp(&b.rel));
    Ok(files)
}
