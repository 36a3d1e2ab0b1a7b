//! `dataset::vendor::vendor` on small trees: reproducible bytes, faithful pixels, all-or-nothing.

mod common;

use common::*;
use dataset::vendor::{VendorRequest, vendor};
use dataset::{Dataset, Split};
use std::path::Path;

fn request<'a>(source: &'a Path, dest: &'a Path, size: usize) -> VendorRequest<'a> {
    VendorRequest {
        source,
        source_label: "SRC",
        dest,
        size,
        command: "cargo xtask data --source SRC",
    }
}

#[test]
fn rerun_is_byte_identical_and_reloads_to_the_same_pixels() {
    let tmp = tempfile::tempdir().unwrap();
    let source = tmp.path().join("src");
    complete_tree(&source, 3, 24);
    write_rgb_jpeg(
        &source.join("val/NORMAL/IM-0100-0001.jpeg"),
        &image::RgbImage::from_pixel(30, 20, image::Rgb([40, 40, 40])),
    );
    let dest = tmp.path().join("out/chest_xray");

    let summary = vendor(&request(&source, &dest, 8)).unwrap();
    assert_eq!(summary.entries.len(), 19);
    let first = file_bytes_under(&dest);
    std::fs::write(dest.join("train/NORMAL/stale.png"), "left over from an older run").unwrap();
    vendor(&request(&source, &dest, 8)).unwrap();
    assert_eq!(
        file_bytes_under(&dest),
        first,
        "re-run reproduces every byte and drops stale files"
    );

    for split in Split::ALL {
        let a = Dataset::load(&source, split, 8).unwrap();
        let b = Dataset::load(&dest, split, 8).unwrap();
        assert_eq!(a.content_hash(), b.content_hash(), "{split}");
    }
    let manifest = std::fs::read_to_string(dest.join("MANIFEST.tsv")).unwrap();
    assert_eq!(manifest.lines().count(), 20);
    assert!(manifest.contains("val\tNORMAL\tIM-0100-0001.png\t"));
    let provenance = std::fs::read_to_string(dest.join("PROVENANCE.md")).unwrap();
    assert!(
        provenance.contains("30x20 (1 files)") && provenance.contains("24x24 (18 files)"),
        "{provenance}"
    );
    // Only the destination remains next to it: no staging or backup directories.
    assert_eq!(std::fs::read_dir(dest.parent().unwrap()).unwrap().count(), 1);
}

#[test]
fn a_bad_source_leaves_the_previous_copy_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let source = tmp.path().join("src");
    complete_tree(&source, 2, 16);
    let dest = tmp.path().join("out/chest_xray");
    vendor(&request(&source, &dest, 8)).unwrap();
    let before = file_bytes_under(&dest);

    let bad = source.join("test/PNEUMONIA/person0_bacteria_1.png");
    std::fs::write(&bad, b"\x89PNG\r\n\x1a\n truncated").unwrap();
    let err = vendor(&request(&source, &dest, 8)).unwrap_err().to_string();
    assert!(err.contains(&bad.display().to_string()), "{err}");
    assert_eq!(file_bytes_under(&dest), before);
    assert_eq!(std::fs::read_dir(dest.parent().unwrap()).unwrap().count(), 1);
}

#[test]
fn clashing_stems_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let source = tmp.path().join("src");
    complete_tree(&source, 1, 8);
    write_png(&source.join("test/NORMAL/IM-0000-0000.PNG"), &gray(8, 8, 1));
    let dest = tmp.path().join("out/chest_xray");
    let err = vendor(&request(&source, &dest, 8)).unwrap_err().to_string();
    assert!(
        err.contains("IM-0000-0000") && err.contains("rename or remove"),
        "{err}"
    );
    assert!(!dest.exists());
}
