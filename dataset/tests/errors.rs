//! Bad trees and bad files give errors that name the culprit; nothing panics.

mod common;

use common::*;
use dataset::{DataError, Dataset, Split};
use std::path::Path;

fn load_err(root: &Path, split: Split) -> String {
    match Dataset::load(root, split, 8) {
        Ok(d) => panic!("expected an error, loaded {} samples", d.len()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn missing_root_names_it_and_the_layout() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("nowhere");
    let msg = load_err(&root, Split::Test);
    assert!(msg.contains(&root.display().to_string()), "{msg}");
    assert!(msg.contains("{train,test,val}/{NORMAL,PNEUMONIA}"), "{msg}");
}

#[test]
fn missing_split_directory_names_it() {
    let tmp = tempfile::tempdir().unwrap();
    complete_tree(tmp.path(), 2, 8);
    std::fs::remove_dir_all(tmp.path().join("test")).unwrap();
    let msg = load_err(tmp.path(), Split::Test);
    assert!(msg.contains(&tmp.path().join("test").display().to_string()), "{msg}");
    assert!(msg.contains("missing directory"), "{msg}");
    // Other splits are unaffected.
    assert_eq!(Dataset::load(tmp.path(), Split::OfficialVal, 8).unwrap().len(), 4);
}

#[test]
fn missing_class_directory_names_it() {
    let tmp = tempfile::tempdir().unwrap();
    complete_tree(tmp.path(), 2, 8);
    let dir = tmp.path().join("train/PNEUMONIA");
    std::fs::remove_dir_all(&dir).unwrap();
    for split in [Split::Train, Split::Val] {
        let msg = load_err(tmp.path(), split);
        assert!(msg.contains(&dir.display().to_string()), "{msg}");
        assert!(msg.contains("cargo xtask data"), "says how to get a valid tree: {msg}");
    }
}

#[test]
fn empty_class_directory_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    complete_tree(tmp.path(), 2, 8);
    let dir = tmp.path().join("val/NORMAL");
    for e in std::fs::read_dir(&dir).unwrap() {
        std::fs::remove_file(e.unwrap().path()).unwrap();
    }
    let msg = load_err(tmp.path(), Split::OfficialVal);
    assert!(
        msg.contains("no images") && msg.contains(&dir.display().to_string()),
        "{msg}"
    );
}

#[test]
fn corrupt_file_names_the_file_and_the_reason() {
    let tmp = tempfile::tempdir().unwrap();
    complete_tree(tmp.path(), 3, 8);
    let bad = tmp.path().join("test/PNEUMONIA/person0_bacteria_1.png");
    let mut bytes = std::fs::read(&bad).unwrap();
    // Flip bytes inside the image data chunk: the CRC check or inflate fails.
    let n = bytes.len();
    for b in &mut bytes[n - 30..n - 16] {
        *b ^= 0x5a;
    }
    std::fs::write(&bad, bytes).unwrap();
    let err = Dataset::load(tmp.path(), Split::Test, 8).unwrap_err();
    assert!(matches!(err, DataError::Decode { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains(&bad.display().to_string()), "{msg}");
    assert!(msg.contains("replace or remove"), "{msg}");
}

#[test]
fn truncated_files_name_the_file() {
    for (name, keep) in [
        ("IM-0000-0000.png", 40),
        ("IM-0000-0001.png", 0),
        ("IM-0000-0001.jpeg", 300),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        complete_tree(tmp.path(), 2, 8);
        let dir = tmp.path().join("test/NORMAL");
        if name.ends_with(".jpeg") {
            std::fs::remove_file(dir.join("IM-0000-0001.png")).unwrap();
            write_rgb_jpeg(
                &dir.join(name),
                &image::RgbImage::from_pixel(64, 64, image::Rgb([90, 90, 90])),
            );
        }
        let bad = dir.join(name);
        let bytes = std::fs::read(&bad).unwrap();
        std::fs::write(&bad, &bytes[..keep.min(bytes.len() - 1)]).unwrap();
        let msg = load_err(tmp.path(), Split::Test);
        assert!(msg.contains(&bad.display().to_string()), "{name}: {msg}");
        assert!(msg.contains("cannot decode"), "{name}: {msg}");
    }
}

#[test]
fn text_file_with_an_image_name_is_a_decode_error() {
    let tmp = tempfile::tempdir().unwrap();
    complete_tree(tmp.path(), 2, 8);
    let bad = tmp.path().join("train/NORMAL/IM-9999-0001.jpg");
    std::fs::write(&bad, "this is not an image\n").unwrap();
    let msg = load_err(tmp.path(), Split::Train);
    assert!(msg.contains(&bad.display().to_string()), "{msg}");
}

#[test]
fn stray_non_image_file_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    complete_tree(tmp.path(), 2, 8);
    let stray = tmp.path().join("test/NORMAL/notes.txt");
    std::fs::write(&stray, "x").unwrap();
    let msg = load_err(tmp.path(), Split::Test);
    assert!(
        msg.contains(&stray.display().to_string()) && msg.contains("move it out"),
        "{msg}"
    );

    std::fs::remove_file(&stray).unwrap();
    std::fs::create_dir(tmp.path().join("test/NORMAL/sub")).unwrap();
    let msg = load_err(tmp.path(), Split::Test);
    assert!(msg.contains("sub"), "{msg}");
}

#[test]
fn zero_size_is_rejected() {
    let tmp = tempfile::tempdir().unwrap();
    complete_tree(tmp.path(), 1, 8);
    assert!(matches!(
        Dataset::load(tmp.path(), Split::Test, 0),
        Err(DataError::InvalidSize(0))
    ));
}

#[test]
fn arbitrary_garbage_never_panics() {
    // Bytes that start like a PNG or a JPEG and then go wrong exercise the decoders' error paths.
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("x.png");
    let mut png = Vec::new();
    gray(32, 32, 3)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    let mut jpeg = Vec::new();
    image::RgbImage::from_pixel(32, 32, image::Rgb([1, 2, 3]))
        .write_to(&mut std::io::Cursor::new(&mut jpeg), image::ImageFormat::Jpeg)
        .unwrap();
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for base in [&png, &jpeg] {
        for _ in 0..300 {
            let mut bytes = base.clone();
            for _ in 0..4 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let i = 8 + (state as usize) % (bytes.len() - 8);
                bytes[i] = (state >> 32) as u8;
            }
            let cut = 8 + (state >> 40) as usize % (bytes.len() - 8);
            bytes.truncate(cut);
            std::fs::write(&path, &bytes).unwrap();
            // Either outcome is fine; the point is that it returns.
            let _ = dataset::load_image(&path, 16);
        }
    }
}
