//! Binary classification metrics (filled in by the data/eval work).
