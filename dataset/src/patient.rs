//! Patient ids from the data set's file naming conventions.

/// Patient id of an image from its file stem:
///
/// - `person1000_bacteria_2931` -> `person1000` (everything before the first `_`);
/// - `IM-0115-0001` -> `IM-0115`, `NORMAL2-IM-1427-0001` -> `NORMAL2-IM-1427`,
///   `NORMAL2-IM-0173-0001-0002` -> `NORMAL2-IM-0173` (the `-`-separated segments up to and including the
///   first all-digit one: later numbers count images of the same patient).
///
/// A stem that follows neither convention is its own patient, which keeps the split valid (never puts
/// one patient on both sides) at the cost of possibly separating images that belong together.
pub fn patient_id(stem: &str) -> String {
    if let Some((person, _)) = stem.split_once('_')
        && !person.is_empty()
    {
        return person.to_string();
    }
    let mut end = 0;
    for segment in stem.split('-') {
        end += segment.len();
        if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
            return stem[..end].to_string();
        }
        end += 1;
    }
    stem.to_string()
}

#[cfg(test)]
mod tests {
    use super::patient_id;

    #[test]
    fn conventions_of_the_data_set() {
        assert_eq!(patient_id("person1000_bacteria_2931"), "person1000");
        assert_eq!(patient_id("person1000_virus_1681"), "person1000");
        assert_eq!(patient_id("person1_virus_1_2"), "person1");
        assert_eq!(patient_id("IM-0115-0001"), "IM-0115");
        assert_eq!(patient_id("IM-0115-0001-0002"), "IM-0115");
        assert_eq!(patient_id("NORMAL2-IM-1427-0001"), "NORMAL2-IM-1427");
        assert_eq!(patient_id("NORMAL2-IM-0173-0001-0002"), "NORMAL2-IM-0173");
    }

    #[test]
    fn unknown_names_are_their_own_patient() {
        assert_eq!(patient_id("scan"), "scan");
        assert_eq!(patient_id("a-b-c"), "a-b-c");
        assert_eq!(patient_id("_x"), "_x");
    }
}
