//! Builders for small `chest_xray` trees in temporary directories.
#![allow(dead_code)]

use image::{GrayImage, ImageFormat, RgbImage};
use std::path::{Path, PathBuf};

pub const FOLDERS: [&str; 3] = ["train", "test", "val"];
pub const CLASSES: [&str; 2] = ["NORMAL", "PNEUMONIA"];

/// A grayscale `w x h` image whose pixels depend on `seed`, so different files differ.
pub fn gray(w: u32, h: u32, seed: u32) -> GrayImage {
    GrayImage::from_fn(w, h, |x, y| image::Luma([((x * 7 + y * 13 + seed * 31) % 256) as u8]))
}

pub fn write_png(path: &Path, img: &GrayImage) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    img.save_with_format(path, ImageFormat::Png).unwrap();
}

pub fn write_rgb_jpeg(path: &Path, img: &RgbImage) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    img.save_with_format(path, ImageFormat::Jpeg).unwrap();
}

/// A complete tree: every folder and class has `per_class` PNGs of `side x side`, with file names
/// following the data set's conventions (NORMAL: `IM-<patient>-<n>`, PNEUMONIA: `person<patient>_bacteria_<n>`).
pub fn complete_tree(root: &Path, per_class: u32, side: u32) {
    let mut seed = 0;
    for folder in FOLDERS {
        for class in CLASSES {
            for i in 0..per_class {
                let stem = match class {
                    "NORMAL" => format!("IM-{:04}-{:04}", i / 2, i % 2),
                    _ => format!("person{}_bacteria_{}", i / 2, i),
                };
                seed += 1;
                write_png(
                    &root.join(folder).join(class).join(format!("{stem}.png")),
                    &gray(side, side, seed),
                );
            }
        }
    }
}

pub fn file_bytes_under(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.strip_prefix(dir).unwrap().to_path_buf(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}
