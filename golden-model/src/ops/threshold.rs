//! Multi-threshold activation: the level is the number of thresholds the accumulator reaches.

use crate::value::ActType;
use ndarray::Array2;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MultiThreshold {
    out: ActType,
    /// `[channel][2^bits - 1]`, non-decreasing along each row.
    thresholds: Array2<i32>,
}

impl MultiThreshold {
    /// Checks shape and order; the message names the offending channel.
    pub fn new(out: ActType, thresholds: Array2<i32>) -> Result<Self, String> {
        let nt = out.num_thresholds();
        if thresholds.ncols() != nt {
            return Err(format!(
                "thresholds have {} columns, {}-bit output needs {nt}",
                thresholds.ncols(),
                out.bits
            ));
        }
        for (c, row) in thresholds.rows().into_iter().enumerate() {
            if let Some(i) = (1..nt).find(|&i| row[i] < row[i - 1]) {
                return Err(format!(
                    "thresholds of channel {c} are not ascending: T[{}]={} > T[{i}]={}",
                    i - 1,
                    row[i - 1],
                    row[i]
                ));
            }
        }
        Ok(MultiThreshold { out, thresholds })
    }

    pub fn out_type(&self) -> ActType {
        self.out
    }
    pub fn channels(&self) -> usize {
        self.thresholds.nrows()
    }
    pub fn thresholds(&self) -> &Array2<i32> {
        &self.thresholds
    }

    /// Reference: count thresholds one by one.
    pub fn apply_reference(&self, channel: usize, acc: i64) -> i32 {
        let q = self.thresholds.row(channel).iter().filter(|&&t| acc >= t as i64).count();
        self.out.from_level(q as u32)
    }

    /// Fast: thresholds are sorted, so the level is a partition point.
    pub fn apply(&self, channel: usize, acc: i32) -> i32 {
        let row = self.thresholds.row(channel);
        let row = row.as_slice().expect("thresholds are stored row-major");
        let q = row.partition_point(|&t| t <= acc);
        self.out.from_level(q as u32)
    }
}
