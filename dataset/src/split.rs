//! The validation split carved from the official train split, grouped by patient.

use crate::layout::ImageFile;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

/// Share of each class's official-train images that goes to validation, in percent.
pub const VAL_PERCENT: usize = 10;

/// Patients whose images form the validation split.
///
/// Rule: for each class separately, take that class's patients in the order of SHA-256(patient id)
/// (ties by id) and add whole patients until the class has at least `round(VAL_PERCENT % of its
/// images)` validation images. A patient is on one side with all of their images, and the order is
/// a pure function of the ids, so the split is the same on every machine and every run and does not
/// move when unrelated files are added.
pub(crate) fn validation_patients(files: &[ImageFile]) -> BTreeSet<String> {
    let mut selected = BTreeSet::new();
    let classes: BTreeSet<u8> = files.iter().map(|f| f.label).collect();
    for class in classes {
        let mut per_patient: BTreeMap<&str, usize> = BTreeMap::new();
        for f in files.iter().filter(|f| f.label == class) {
            *per_patient.entry(&f.patient).or_default() += 1;
        }
        let total: usize = per_patient.values().sum();
        let target = (total * VAL_PERCENT + 50) / 100;
        let mut ranked: Vec<(&str, usize)> = per_patient.into_iter().collect();
        ranked.sort_by_cached_key(|&(id, _)| (Sha256::digest(id.as_bytes()), id));
        let mut taken = ranked
            .iter()
            .filter(|(id, _)| selected.contains(*id))
            .map(|(_, n)| n)
            .sum::<usize>();
        for (id, n) in ranked {
            if taken >= target {
                break;
            }
            if selected.insert(id.to_string()) {
                taken += n;
            }
        }
    }
    selected
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::patient::patient_id;
    use std::path::PathBuf;

    /// `patients` patients per class with 1..=4 images each, named like the real data set.
    fn synthetic_files(patients: usize) -> Vec<ImageFile> {
        let mut files = Vec::new();
        for p in 0..patients {
            for i in 0..=(p % 4) {
                for (label, stem) in [
                    (0u8, format!("IM-{p:04}-{i:04}")),
                    (1, format!("person{p}_bacteria_{i}")),
                ] {
                    files.push(ImageFile {
                        rel: PathBuf::from(format!("train/{}/{stem}.png", crate::CLASSES[label as usize])),
                        label,
                        patient: patient_id(&stem),
                        stem,
                    });
                }
            }
        }
        files
    }

    #[test]
    fn about_ten_percent_of_each_class_whole_patients_only() {
        let files = synthetic_files(400);
        let val = validation_patients(&files);
        for class in [0u8, 1] {
            let in_class: Vec<_> = files.iter().filter(|f| f.label == class).collect();
            let in_val = in_class.iter().filter(|f| val.contains(&f.patient)).count();
            let share = in_val as f64 / in_class.len() as f64;
            assert!((0.095..=0.105).contains(&share), "class {class}: {share}");
        }
        assert!(
            val.iter().all(|p| files.iter().any(|f| &f.patient == p)),
            "selection holds patient ids, not stems"
        );
    }

    #[test]
    fn independent_of_listing_order() {
        let files = synthetic_files(100);
        let mut reversed = files.clone();
        reversed.reverse();
        reversed.rotate_left(37);
        assert_eq!(validation_patients(&files), validation_patients(&reversed));
    }

    #[test]
    fn small_classes_round_to_the_nearest_image_count() {
        // Patients 0 and 1 have 1 and 2 images per class: 10 % of 3 images rounds to 0.
        let files = synthetic_files(2);
        assert_eq!(files.iter().filter(|f| f.label == 0).count(), 3);
        assert!(validation_patients(&files).is_empty());
        assert!(validation_patients(&[]).is_empty());
    }
}
