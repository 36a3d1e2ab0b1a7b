//! Loading: layout, order, labels, patients, grayscale, resizing, splits on a small tree.

mod common;

use common::*;
use dataset::{Dataset, Split, resize_area};
use std::collections::BTreeSet;
use std::path::PathBuf;

#[test]
fn order_labels_patients_and_extensions() {
    let tmp = tempfile::tempdir().unwrap();
    complete_tree(tmp.path(), 2, 8);
    let dir = tmp.path().join("test");
    // Upper-case extensions, JPEG content and hidden clutter.
    write_png(&dir.join("NORMAL/NORMAL2-IM-1427-0001.PNG"), &gray(8, 8, 99));
    write_rgb_jpeg(
        &dir.join("PNEUMONIA/person1000_virus_1681.JpG"),
        &image::RgbImage::from_pixel(8, 8, image::Rgb([7, 7, 7])),
    );
    std::fs::write(dir.join("NORMAL/.DS_Store"), "x").unwrap();

    let d = Dataset::load(tmp.path(), Split::Test, 8).unwrap();
    let paths: Vec<_> = d.samples.iter().map(|s| s.path.clone()).collect();
    let expected: Vec<PathBuf> = [
        "test/NORMAL/IM-0000-0000.png",
        "test/NORMAL/IM-0000-0001.png",
        "test/NORMAL/NORMAL2-IM-1427-0001.PNG",
        "test/PNEUMONIA/person0_bacteria_0.png",
        "test/PNEUMONIA/person0_bacteria_1.png",
        "test/PNEUMONIA/person1000_virus_1681.JpG",
    ]
    .iter()
    .map(PathBuf::from)
    .collect();
    assert_eq!(paths, expected);
    assert_eq!(d.labels(), vec![0, 0, 0, 1, 1, 1]);
    let patients: Vec<_> = d.samples.iter().map(|s| s.patient.as_str()).collect();
    assert_eq!(
        patients,
        [
            "IM-0000",
            "IM-0000",
            "NORMAL2-IM-1427",
            "person0",
            "person0",
            "person1000"
        ]
    );
    assert_eq!(d.class_counts(), [3, 3]);
    // A flat JPEG survives lossy compression exactly and grayscale conversion keeps R = G = B values.
    assert!(d.samples[5].pixels.iter().all(|&p| p == 7));
    assert!(d.samples.iter().all(|s| s.pixels.len() == 64));
}

#[test]
fn colour_images_become_luma() {
    let tmp = tempfile::tempdir().unwrap();
    complete_tree(tmp.path(), 1, 4);
    let path = tmp.path().join("val/NORMAL/IM-0000-0000.png");
    // Rec. 709 luma of pure red, green, blue (truncated): 54, 182, 18.
    let img = image::RgbImage::from_fn(3, 1, |x, _| {
        let mut p = [0u8; 3];
        p[x as usize] = 255;
        image::Rgb(p)
    });
    img.save(&path).unwrap();
    let pixels = dataset::load_image(&path, 3).unwrap();
    assert_eq!(pixels[..3], [54, 182, 18]);
}

#[test]
fn any_source_size_is_area_resized() {
    let tmp = tempfile::tempdir().unwrap();
    complete_tree(tmp.path(), 1, 4);
    let path = tmp.path().join("val/NORMAL/IM-0000-0000.png");
    let img = gray(37, 23, 5);
    write_png(&path, &img);
    let d = Dataset::load(tmp.path(), Split::OfficialVal, 16).unwrap();
    assert_eq!(d.samples[0].pixels, resize_area(img.as_raw(), 37, 23, 16));
    let halved = Dataset::load(tmp.path(), Split::OfficialVal, 2).unwrap();
    // The PNEUMONIA image is 4x4, halving is the 2x2 box mean, rounded half up.
    let src = gray(4, 4, 6); // complete_tree gives val/PNEUMONIA the 6th seed
    let p = |x: u32, y: u32| src.get_pixel(x, y)[0] as u32;
    let box00 = (p(0, 0) + p(1, 0) + p(0, 1) + p(1, 1) + 2) / 4;
    assert_eq!(halved.samples[1].pixels[0] as u32, box00);
}

#[test]
fn train_and_val_partition_official_train_by_patient() {
    let tmp = tempfile::tempdir().unwrap();
    complete_tree(tmp.path(), 60, 4);
    let train = Dataset::load(tmp.path(), Split::Train, 4).unwrap();
    let val = Dataset::load(tmp.path(), Split::Val, 4).unwrap();
    assert!(!val.is_empty());
    assert!(train.patients().is_disjoint(&val.patients()));
    let mut union: Vec<_> = train
        .samples
        .iter()
        .chain(&val.samples)
        .map(|s| s.path.clone())
        .collect();
    union.sort();
    let all: BTreeSet<_> = std::fs::read_dir(tmp.path().join("train/NORMAL"))
        .unwrap()
        .chain(std::fs::read_dir(tmp.path().join("train/PNEUMONIA")).unwrap())
        .map(|e| e.unwrap().path().strip_prefix(tmp.path()).unwrap().to_path_buf())
        .collect();
    assert_eq!(union, all.into_iter().collect::<Vec<_>>());
}

#[test]
fn content_hash_tracks_labels_pixels_and_size() {
    let tmp = tempfile::tempdir().unwrap();
    complete_tree(tmp.path(), 2, 8);
    let a = Dataset::load(tmp.path(), Split::Test, 8).unwrap();
    assert_eq!(
        a.content_hash(),
        Dataset::load(tmp.path(), Split::Test, 8).unwrap().content_hash()
    );
    assert_eq!(a.content_hash().len(), 64);
    let mut b = a.clone();
    b.samples[0].pixels[3] ^= 1;
    assert_ne!(a.content_hash(), b.content_hash());
    let mut c = a.clone();
    c.samples[0].label = 1;
    assert_ne!(a.content_hash(), c.content_hash());
    let mut d = a.clone();
    d.samples[0].path = PathBuf::from("elsewhere.png");
    assert_eq!(a.content_hash(), d.content_hash(), "paths are not content");
    assert_ne!(
        a.content_hash(),
        Dataset::load(tmp.path(), Split::Test, 4).unwrap().content_hash()
    );
}

#[test]
fn split_names_round_trip() {
    for s in Split::ALL {
        assert_eq!(s.name().parse::<Split>().unwrap(), s);
    }
    let err = "validation".parse::<Split>().unwrap_err();
    assert!(err.contains("train, val, test, official-val"), "{err}");
}
