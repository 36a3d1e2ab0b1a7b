//! The vendored copy: a small, reproducible `size x size` PNG copy of a `chest_xray` tree, with a
//! manifest of checksums and a provenance record.

mod encode;
mod provenance;

use crate::error::{DataError, write_error};
use crate::layout::{ImageFile, list_folder};
use crate::parallel::try_map_ordered;
use crate::{CLASSES, decode};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Official split folders, in the order the manifest lists them.
pub const FOLDERS: [&str; 3] = ["train", "test", "val"];

pub const MANIFEST_FILE: &str = "MANIFEST.tsv";
pub const PROVENANCE_FILE: &str = "PROVENANCE.md";

/// What to vendor and how to describe it.
#[derive(Clone, Debug)]
pub struct VendorRequest<'a> {
    /// Root of the source tree (`{train,test,val}/{NORMAL,PNEUMONIA}/*`).
    pub source: &'a Path,
    /// How the provenance record names the source (e.g. the path as the user typed it, so the record
    /// does not depend on the machine's absolute paths).
    pub source_label: &'a str,
    /// Directory to create or replace, e.g. `data/chest_xray`.
    pub dest: &'a Path,
    pub size: usize,
    /// The command that reproduces the copy, recorded in the provenance.
    pub command: &'a str,
}

/// One vendored image file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestEntry {
    pub folder: String,
    pub class: String,
    pub file: String,
    pub sha256: String,
    pub bytes: u64,
}

#[derive(Clone, Debug)]
pub struct VendorSummary {
    pub entries: Vec<ManifestEntry>,
    /// Distinct `(width, height)` of the source images with their file counts.
    pub source_sizes: BTreeMap<(usize, usize), usize>,
    /// Groups of two or more vendored files with identical bytes (hence identical pixels).
    pub duplicate_groups: Vec<Vec<String>>,
}

impl VendorSummary {
    /// Number of images per `(folder, class)`.
    pub fn counts(&self) -> BTreeMap<(String, String), usize> {
        let mut counts = BTreeMap::new();
        for e in &self.entries {
            *counts.entry((e.folder.clone(), e.class.clone())).or_default() += 1;
        }
        counts
    }

    pub fn image_bytes(&self) -> u64 {
        self.entries.iter().map(|e| e.bytes).sum()
    }
}

struct Staged {
    file: ImageFile,
    folder: &'static str,
    png: Vec<u8>,
}

/// Builds the copy in a hidden staging directory next to `dest` and swaps it into place only when
/// complete, so an error or crash leaves the previous copy untouched and never a half-written one.
/// Files that are in `dest` but not in the source disappear with the swap. A crash (not an error) can
/// leave a hidden `.<name>.staging-*` directory beside `dest`; it is safe to delete.
pub fn vendor(req: &VendorRequest) -> Result<VendorSummary, DataError> {
    if req.size == 0 {
        return Err(DataError::InvalidSize(req.size));
    }
    let mut files = Vec::new();
    for folder in FOLDERS {
        let listed = list_folder(req.source, folder)?;
        check_unique_stems(req.source, &listed)?;
        files.extend(listed.into_iter().map(|f| (folder, f)));
    }

    let staged: Vec<(Staged, (usize, usize))> = try_map_ordered(&files, |(folder, file)| {
        let path = req.source.join(&file.rel);
        let image = decode::load_with_source_size(&path, req.size)?;
        let png = encode::encode_gray_png(&image.pixels, req.size).map_err(|reason| DataError::Encode {
            path: path.clone(),
            reason,
        })?;
        Ok((
            Staged {
                file: file.clone(),
                folder,
                png,
            },
            (image.source_width, image.source_height),
        ))
    })?;

    let mut source_sizes = BTreeMap::new();
    for (_, dims) in &staged {
        *source_sizes.entry(*dims).or_default() += 1;
    }

    let parent = match req.dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(write_error(&parent))?;
    let staging = tempfile::Builder::new()
        .prefix(&format!(".{}.staging-", dest_name(req.dest)))
        .tempdir_in(&parent)
        .map_err(write_error(&parent))?;

    let mut entries = Vec::with_capacity(staged.len());
    for (s, _) in &staged {
        let class = CLASSES[s.file.label as usize];
        let file = format!("{}.png", s.file.stem);
        let dir = staging.path().join(s.folder).join(class);
        std::fs::create_dir_all(&dir).map_err(write_error(&dir))?;
        let path = dir.join(&file);
        std::fs::write(&path, &s.png).map_err(write_error(&path))?;
        entries.push(ManifestEntry {
            folder: s.folder.to_string(),
            class: class.to_string(),
            file,
            sha256: hex::encode(Sha256::digest(&s.png)),
            bytes: s.png.len() as u64,
        });
    }

    let summary = VendorSummary {
        duplicate_groups: duplicate_groups(&entries),
        entries,
        source_sizes,
    };
    let manifest_path = staging.path().join(MANIFEST_FILE);
    std::fs::write(&manifest_path, manifest_tsv(&summary.entries)).map_err(write_error(&manifest_path))?;
    let source_provenance_sha256 = std::fs::read(req.source.join(PROVENANCE_FILE))
        .ok()
        .map(|b| hex::encode(Sha256::digest(b)));
    let provenance_path = staging.path().join(PROVENANCE_FILE);
    let text = provenance::render(req, &summary, source_provenance_sha256.as_deref());
    std::fs::write(&provenance_path, text).map_err(write_error(&provenance_path))?;

    swap_into_place(staging, req.dest)?;
    Ok(summary)
}

fn dest_name(dest: &Path) -> String {
    dest.file_name()
        .map_or_else(|| "vendored".into(), |n| n.to_string_lossy().into_owned())
}

fn check_unique_stems(root: &Path, files: &[ImageFile]) -> Result<(), DataError> {
    let mut seen = BTreeSet::new();
    for f in files {
        let dir = f.rel.parent().unwrap_or(Path::new(""));
        if !seen.insert((dir.to_path_buf(), f.stem.clone())) {
            return Err(DataError::DuplicateStem {
                dir: root.join(dir),
                stem: f.stem.clone(),
            });
        }
    }
    Ok(())
}

/// Tab-separated `split, class, file, sha256` with a header, in vendoring order.
pub fn manifest_tsv(entries: &[ManifestEntry]) -> String {
    let mut out = String::from("split\tclass\tfile\tsha256\n");
    for e in entries {
        out.push_str(&format!("{}\t{}\t{}\t{}\n", e.folder, e.class, e.file, e.sha256));
    }
    out
}

fn duplicate_groups(entries: &[ManifestEntry]) -> Vec<Vec<String>> {
    let mut by_hash: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for e in entries {
        by_hash
            .entry(&e.sha256)
            .or_default()
            .push(format!("{}/{}/{}", e.folder, e.class, e.file));
    }
    let mut groups: Vec<Vec<String>> = by_hash.into_values().filter(|g| g.len() > 1).collect();
    groups.sort();
    groups
}

fn swap_into_place(staging: tempfile::TempDir, dest: &Path) -> Result<(), DataError> {
    #[cfg(unix)]
    {
        // Temporary directories are private (0700); the data set is meant to be readable by everyone.
        use std::os::unix::fs::PermissionsExt;
        let perms = std::fs::Permissions::from_mode(0o755);
        std::fs::set_permissions(staging.path(), perms).map_err(write_error(staging.path()))?;
    }
    if !dest.exists() {
        let staged = staging.keep();
        return std::fs::rename(&staged, dest).map_err(write_error(dest));
    }
    let parent = staging.path().parent().unwrap_or(Path::new(".")).to_path_buf();
    let old = tempfile::Builder::new()
        .prefix(&format!(".{}.old-", dest_name(dest)))
        .tempdir_in(&parent)
        .map_err(write_error(&parent))?;
    let old_copy = old.path().join("previous");
    std::fs::rename(dest, &old_copy).map_err(write_error(dest))?;
    let staged = staging.keep();
    if let Err(e) = std::fs::rename(&staged, dest) {
        // Put the previous copy back so a failed swap changes nothing.
        let _ = std::fs::rename(&old_copy, dest);
        let _ = std::fs::remove_dir_all(&staged);
        return Err(DataError::Write {
            path: dest.to_path_buf(),
            source: e,
        });
    }
    drop(old);
    Ok(())
}
