//! The vendored copy in `data/chest_xray`: counts, manifest, size budget, splits, and equality with
//! the shared 128x128 source (when that source is present; CI has only the vendored copy).

use dataset::{Dataset, Split, default_root};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const SIZE: usize = dataset::DEFAULT_SIZE;
/// Upper bound for the whole `data/` directory, in bytes.
const DATA_BUDGET_BYTES: u64 = 25_000_000;

fn shared_source() -> PathBuf {
    default_root().join("../../../shared/data/chest_xray/png128")
}

fn load(split: Split) -> &'static Dataset {
    static CACHE: OnceLock<BTreeMap<Split, Dataset>> = OnceLock::new();
    let all = CACHE.get_or_init(|| {
        Split::ALL
            .into_iter()
            .map(|s| (s, Dataset::load(&default_root(), s, SIZE).unwrap()))
            .collect()
    });
    &all[&split]
}

#[test]
fn official_counts() {
    let train = load(Split::Train).class_counts();
    let val = load(Split::Val).class_counts();
    assert_eq!(
        [train[0] + val[0], train[1] + val[1]],
        [1341, 3875],
        "train + val = official train"
    );
    assert_eq!(load(Split::Test).class_counts(), [234, 390]);
    assert_eq!(load(Split::OfficialVal).class_counts(), [8, 8]);
    for s in Split::ALL {
        assert!(load(s).samples.iter().all(|x| x.pixels.len() == SIZE * SIZE));
    }
}

#[test]
fn validation_is_ten_percent_per_class_and_patient_disjoint() {
    let (train, val) = (load(Split::Train), load(Split::Val));
    assert!(train.patients().is_disjoint(&val.patients()));
    let (t, v) = (train.class_counts(), val.class_counts());
    for class in 0..2 {
        let share = v[class] as f64 / (t[class] + v[class]) as f64;
        assert!((0.08..=0.12).contains(&share), "class {class}: val share {share}");
    }
    // Train + Val is exactly official train: every file once.
    let mut paths: Vec<&Path> = train
        .samples
        .iter()
        .chain(&val.samples)
        .map(|s| s.path.as_path())
        .collect();
    let n = paths.len();
    paths.sort();
    paths.dedup();
    assert_eq!(paths.len(), n);
    assert!(paths.iter().all(|p| p.starts_with("train")));
}

#[test]
fn identical_images_never_straddle_train_and_val() {
    let side = |d: &Dataset| -> BTreeSet<Vec<u8>> { d.samples.iter().map(|s| s.pixels.clone()).collect() };
    assert!(side(load(Split::Train)).is_disjoint(&side(load(Split::Val))));
}

#[test]
fn loading_is_deterministic() {
    let again = Dataset::load(&default_root(), Split::Val, SIZE).unwrap();
    assert_eq!(&again, load(Split::Val));
}

#[test]
fn manifest_lists_every_png_with_its_checksum() {
    let root = default_root();
    let manifest = std::fs::read_to_string(root.join("MANIFEST.tsv")).unwrap();
    let mut lines = manifest.lines();
    assert_eq!(lines.next(), Some("split\tclass\tfile\tsha256"));
    let mut listed = 0;
    for line in lines {
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols.len(), 4, "{line}");
        let bytes = std::fs::read(root.join(cols[0]).join(cols[1]).join(cols[2])).unwrap();
        assert_eq!(hex::encode(Sha256::digest(&bytes)), cols[3], "{line}");
        listed += 1;
    }
    let on_disk: usize = ["train", "test", "val"]
        .iter()
        .flat_map(|f| {
            dataset::CLASSES
                .iter()
                .map(|c| root.join(f).join(c))
                .collect::<Vec<_>>()
        })
        .map(|d| std::fs::read_dir(d).unwrap().count())
        .sum();
    assert_eq!((listed, on_disk), (5856, 5856));
    let provenance = std::fs::read_to_string(root.join("PROVENANCE.md")).unwrap();
    for needle in ["Kermany", "10.17632/rscbjbr9sj.2", "CC BY 4.0", "cargo xtask data"] {
        assert!(provenance.contains(needle), "PROVENANCE.md lacks {needle}");
    }
}

#[test]
fn data_directory_fits_the_budget() {
    fn bytes(p: &Path) -> u64 {
        let meta = std::fs::symlink_metadata(p).unwrap();
        if meta.is_dir() {
            meta.len()
                + std::fs::read_dir(p)
                    .unwrap()
                    .map(|e| bytes(&e.unwrap().path()))
                    .sum::<u64>()
        } else {
            meta.len()
        }
    }
    let total = bytes(default_root().parent().unwrap());
    assert!(
        total <= DATA_BUDGET_BYTES,
        "data/ holds {total} bytes, budget {DATA_BUDGET_BYTES}"
    );
}

#[test]
fn vendored_copy_equals_the_shared_source_at_the_same_size() {
    let source = shared_source();
    if !source.is_dir() {
        println!(
            "note: shared source {} absent; skipping the pixel comparison",
            source.display()
        );
        return;
    }
    for split in Split::ALL {
        let from_source = Dataset::load(&source, split, SIZE).unwrap();
        let vendored = load(split);
        assert_eq!(from_source.len(), vendored.len(), "{split}");
        for (a, b) in from_source.samples.iter().zip(&vendored.samples) {
            assert_eq!(a.path.with_extension(""), b.path.with_extension(""));
            assert_eq!((a.label, &a.patient), (b.label, &b.patient), "{}", a.path.display());
            assert!(a.pixels == b.pixels, "pixels differ: {}", a.path.display());
        }
        assert_eq!(from_source.content_hash(), vendored.content_hash());
    }
}
