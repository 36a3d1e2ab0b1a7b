//! Training data: the train/validation splits (the test split cannot enter here), light
//! augmentation, and synthetic images for tests and calibration.

use dataset::{Dataset, Split};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::Path;

/// One image: `size * size` pixels and its label.
#[derive(Clone, Debug)]
pub struct Image {
    pub pixels: Vec<u8>,
    pub label: u8,
}

/// The data training may see: the train split and the patient-grouped validation split. There is no
/// way to put the test split in here ([`TrainData::load`] asks only for `Train` and `Val`, and
/// [`TrainData::from_datasets`] refuses anything else).
#[derive(Clone, Debug)]
pub struct TrainData {
    pub size: usize,
    pub train: Vec<Image>,
    pub val: Vec<Image>,
    /// `Dataset::content_hash` of the train split (or a hash of the synthetic data).
    pub train_hash: String,
    pub val_hash: String,
}

fn images(ds: &Dataset) -> Vec<Image> {
    ds.samples.iter().map(|s| Image { pixels: s.pixels.clone(), label: s.label }).collect()
}

impl TrainData {
    /// Loads the train and validation splits of a `chest_xray` tree at `size x size`.
    pub fn load(root: &Path, size: usize) -> anyhow::Result<TrainData> {
        if !root.is_dir() {
            anyhow::bail!("data directory {} does not exist (expected a chest_xray tree with train/ and test/)", root.display());
        }
        let train = Dataset::load(root, Split::Train, size)
            .map_err(|e| anyhow::anyhow!("cannot load the train split from {}: {e}", root.display()))?;
        let val = Dataset::load(root, Split::Val, size)
            .map_err(|e| anyhow::anyhow!("cannot load the validation split from {}: {e}", root.display()))?;
        Self::from_datasets(&train, &val)
    }

    /// From already loaded splits; `train` must be `Split::Train` and `val` must be `Split::Val`.
    pub fn from_datasets(train: &Dataset, val: &Dataset) -> anyhow::Result<TrainData> {
        for (ds, want) in [(train, Split::Train), (val, Split::Val)] {
            assert_ne!(ds.split, Split::Test, "the test split must never reach training");
            if ds.split != want {
                anyhow::bail!("expected the {want:?} split, got {:?}", ds.split);
            }
            assert!(
                ds.samples.iter().all(|s| !s.path.starts_with("test")),
                "a test image reached the training data"
            );
            if ds.samples.is_empty() {
                anyhow::bail!("the {want:?} split is empty");
            }
            if ds.samples.iter().any(|s| s.pixels.len() != ds.size * ds.size) {
                anyhow::bail!("the {want:?} split has images that are not {0}x{0}", ds.size);
            }
        }
        if train.size != val.size {
            anyhow::bail!("train ({}) and validation ({}) image sizes differ", train.size, val.size);
        }
        Ok(TrainData {
            size: train.size,
            train: images(train),
            val: images(val),
            train_hash: train.content_hash(),
            val_hash: val.content_hash(),
        })
    }

    /// Synthetic two-class data for tests: NORMAL images are smooth, PNEUMONIA images carry bright
    /// cloudy blobs. Deterministic in `seed`.
    pub fn synthetic(n_train: usize, n_val: usize, size: usize, seed: u64) -> TrainData {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut make = |n: usize| -> Vec<Image> {
            (0..n)
                .map(|i| {
                    let label = (i % 4 != 0) as u8; // 3:1 imbalance like the real train split
                    Image { pixels: synthetic_image(&mut rng, size, label), label }
                })
                .collect()
        };
        let train = make(n_train);
        let val = make(n_val);
        let hash = |v: &[Image]| {
            let mut h: u64 = 0xcbf29ce484222325;
            for im in v {
                for &b in im.pixels.iter().chain(std::iter::once(&im.label)) {
                    h = (h ^ b as u64).wrapping_mul(0x100000001b3);
                }
            }
            format!("synthetic-{h:016x}")
        };
        TrainData { size, train_hash: hash(&train), val_hash: hash(&val), train, val }
    }

    /// Train-split counts per class.
    pub fn class_counts(&self) -> [usize; 2] {
        let mut c = [0; 2];
        for s in &self.train {
            c[s.label as usize] += 1;
        }
        c
    }
}

/// One synthetic chest-like image: a smooth vertical/horizontal gradient with two darker "lung"
/// ellipses; label 1 adds a few bright blobs inside the lungs.
pub fn synthetic_image(rng: &mut impl Rng, size: usize, label: u8) -> Vec<u8> {
    let s = size as f32;
    let base = rng.random_range(90.0..150.0f32);
    let tilt = rng.random_range(-30.0..30.0f32);
    let lung = rng.random_range(50.0..80.0f32);
    let blobs: Vec<(f32, f32, f32, f32)> = if label == 1 {
        (0..rng.random_range(2..5))
            .map(|_| {
                let left = rng.random_bool(0.5);
                let cx = if left { rng.random_range(0.2..0.45) } else { rng.random_range(0.55..0.8) } * s;
                (cx, rng.random_range(0.3..0.75) * s, rng.random_range(0.05..0.12) * s, rng.random_range(40.0..80.0))
            })
            .collect()
    } else {
        vec![]
    };
    let mut px = Vec::with_capacity(size * size);
    for y in 0..size {
        for x in 0..size {
            let (fx, fy) = (x as f32 / s, y as f32 / s);
            let mut v = base + tilt * (fy - 0.5);
            for cx in [0.32f32, 0.68] {
                let d = ((fx - cx) / 0.16).powi(2) + ((fy - 0.5) / 0.3).powi(2);
                if d < 1.0 {
                    v -= lung * (1.0 - d);
                }
            }
            for &(bx, by, r, a) in &blobs {
                let d = ((x as f32 - bx).powi(2) + (y as f32 - by).powi(2)) / (r * r);
                v += a * (-d).exp();
            }
            v += rng.random_range(-8.0..8.0f32);
            px.push(v.round().clamp(0.0, 255.0) as u8);
        }
    }
    px
}

/// Light augmentation parameters (all draws uniform in `[-x, x]`).
#[derive(Clone, Copy, Debug, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct Augment {
    /// Translation in pixels.
    pub shift: f32,
    /// Rotation in degrees.
    pub rotate: f32,
    /// Relative zoom.
    pub zoom: f32,
    /// Brightness shift in grey levels.
    pub brightness: f32,
    /// Relative contrast change.
    pub contrast: f32,
    /// Gamma change: `v' = 255 (v / 255)^g`, `ln g` uniform in `[-gamma, gamma]` (0 = off).
    #[serde(default)]
    pub gamma: f32,
    /// Blur / sharpen: the image is mixed with its 3x3 box blur, `v' = v + k (blur(v) - v)`, `k`
    /// uniform in `[-blur / 2, blur]` (negative `k` sharpens; 0 = off).
    #[serde(default)]
    pub blur: f32,
    /// Aspect-ratio change: x scaled by `sqrt(r)`, y by `1 / sqrt(r)`, `ln r` uniform in
    /// `[-aspect, aspect]` (0 = off). The vendored images were stretched to squares from originals of
    /// varying aspect ratio (PROVENANCE.md), so the apparent width of the chest varies by source.
    #[serde(default)]
    pub aspect: f32,
}

impl Augment {
    pub const NONE: Augment = Augment { shift: 0.0, rotate: 0.0, zoom: 0.0, brightness: 0.0, contrast: 0.0, gamma: 0.0, blur: 0.0, aspect: 0.0 };
    pub const LIGHT: Augment = Augment { shift: 3.0, rotate: 5.0, zoom: 0.08, brightness: 12.0, contrast: 0.1, gamma: 0.0, blur: 0.0, aspect: 0.0 };
    /// Acquisition-robust augmentation: larger geometric range plus the intensity and sharpness changes
    /// that differ between X-ray sources (exposure, gamma of the display curve, detector blur).
    pub const STRONG: Augment = Augment { shift: 5.0, rotate: 10.0, zoom: 0.15, brightness: 20.0, contrast: 0.25, gamma: 0.3, blur: 1.0, aspect: 0.0 };
    /// `strong` plus aspect-ratio changes of up to +-22 % (`ln r` in +-0.2).
    pub const ACQUISITION: Augment = Augment { aspect: 0.2, ..Self::STRONG };

    /// Named presets for the command line: `none`, `light`, `strong`.
    pub fn preset(name: &str) -> Option<Augment> {
        match name {
            "none" => Some(Self::NONE),
            "light" => Some(Self::LIGHT),
            "strong" => Some(Self::STRONG),
            "acquisition" => Some(Self::ACQUISITION),
            _ => None,
        }
    }

    pub fn is_none(&self) -> bool {
        *self == Self::NONE
    }

    /// Augmented copy of a `size x size` image: affine warp (bilinear, edge clamped) about the image
    /// centre, then brightness/contrast; rounded back to 8-bit pixels like real inputs.
    pub fn apply(&self, px: &[u8], size: usize, rng: &mut impl Rng) -> Vec<u8> {
        if self.is_none() {
            return px.to_vec();
        }
        let u = |rng: &mut dyn rand::RngCore, a: f32| if a > 0.0 { rng.random_range(-a..=a) } else { 0.0 };
        let dx = u(rng, self.shift);
        let dy = u(rng, self.shift);
        let th = u(rng, self.rotate).to_radians();
        let z = 1.0 + u(rng, self.zoom);
        let b = u(rng, self.brightness);
        let c = 1.0 + u(rng, self.contrast);
        // Drawn only when enabled, so the light preset keeps its earlier random streams.
        let g = if self.gamma > 0.0 { u(rng, self.gamma).exp() } else { 1.0 };
        let k = if self.blur > 0.0 { rng.random_range(-self.blur / 2.0..=self.blur) } else { 0.0 };
        let r = if self.aspect > 0.0 { u(rng, self.aspect).exp().sqrt() } else { 1.0 };
        let (cs, sn) = (th.cos() / z, th.sin() / z);
        let ctr = (size as f32 - 1.0) / 2.0;
        let at = |x: isize, y: isize| -> f32 {
            let x = x.clamp(0, size as isize - 1) as usize;
            let y = y.clamp(0, size as isize - 1) as usize;
            px[y * size + x] as f32
        };
        let mut warped = Vec::with_capacity(size * size);
        for y in 0..size {
            for x in 0..size {
                let (ox, oy) = ((x as f32 - ctr - dx) / r, (y as f32 - ctr - dy) * r);
                let sx = cs * ox + sn * oy + ctr;
                let sy = -sn * ox + cs * oy + ctr;
                let (x0, y0) = (sx.floor(), sy.floor());
                let (fx, fy) = (sx - x0, sy - y0);
                let (x0, y0) = (x0 as isize, y0 as isize);
                let v = at(x0, y0) * (1.0 - fx) * (1.0 - fy)
                    + at(x0 + 1, y0) * fx * (1.0 - fy)
                    + at(x0, y0 + 1) * (1.0 - fx) * fy
                    + at(x0 + 1, y0 + 1) * fx * fy;
                warped.push(v);
            }
        }
        let mut out = Vec::with_capacity(size * size);
        for y in 0..size {
            for x in 0..size {
                let mut v = warped[y * size + x];
                if k != 0.0 {
                    let mut s = 0.0;
                    for yy in y.saturating_sub(1)..=(y + 1).min(size - 1) {
                        for xx in x.saturating_sub(1)..=(x + 1).min(size - 1) {
                            s += warped[yy * size + xx];
                        }
                    }
                    let cnt = ((y + 1).min(size - 1) - y.saturating_sub(1) + 1) * ((x + 1).min(size - 1) - x.saturating_sub(1) + 1);
                    v += k * (s / cnt as f32 - v);
                }
                if g != 1.0 {
                    v = 255.0 * (v.clamp(0.0, 255.0) / 255.0).powf(g);
                }
                let v = (v - 128.0) * c + 128.0 + b;
                out.push(v.round().clamp(0.0, 255.0) as u8);
            }
        }
        out
    }
}

/// A well-mixed 64-bit seed for a (run seed, stream, index) triple, so every augmentation draw is
/// reproducible whatever thread computes it.
pub fn mix_seed(seed: u64, a: u64, b: u64) -> u64 {
    let mut z = seed ^ a.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ b.wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
