//! `$readmemh` memory images in the layouts of docs/architecture.md ("Streams (RTL)"): weights,
//! thresholds and biases of a matrix-vector unit, and the input quantizer's thresholds.

use golden_model::ops::{MatVec, MultiThreshold, OutputStage};
use std::fmt::Write;

/// A little-endian bit string, filled field by field, printed MSB first as `$readmemh` expects.
#[derive(Default)]
pub struct Word {
    bits: Vec<u64>,
    len: usize,
}

impl Word {
    /// Appends the low `width` bits of `value` (two's complement for negatives).
    pub fn push(&mut self, value: i64, width: usize) {
        for i in 0..width {
            if self.len.is_multiple_of(64) {
                self.bits.push(0);
            }
            if (value >> i.min(63)) & 1 == 1 {
                self.bits[self.len / 64] |= 1 << (self.len % 64);
            }
            self.len += 1;
        }
    }

    pub fn hex(&self) -> String {
        let digits = self.len.div_ceil(4).max(1);
        let mut s = String::with_capacity(digits);
        for d in (0..digits).rev() {
            let mut nibble = 0;
            for b in 0..4 {
                let i = d * 4 + b;
                if i < self.len && (self.bits[i / 64] >> (i % 64)) & 1 == 1 {
                    nibble |= 1 << b;
                }
            }
            let _ = write!(s, "{nibble:x}");
        }
        s
    }
}

fn lines(words: impl Iterator<Item = Word>) -> String {
    let mut s = String::new();
    for w in words {
        s.push_str(&w.hex());
        s.push('\n');
    }
    s
}

/// Bits of the accumulator (and thresholds, biases, logits) of a matrix-vector layer: wide enough for
/// every reachable value and for the clamped thresholds `-M ..= M+1`.
pub fn acc_bits(mv: &MatVec) -> usize {
    let bias = match mv.output() {
        OutputStage::Bias(b) => b.iter().map(|v| (*v as i64).abs()).max().unwrap_or(0),
        OutputStage::Threshold(_) => 0,
    };
    let m = mv.max_abs_acc() + bias + 1;
    // Smallest b with 2^(b-1) - 1 >= m.
    1 + (64 - (m as u64).leading_zeros() as usize)
}

/// A threshold beyond the reachable accumulators is "never" (above) or "always" (below); clamping it
/// to the edge of the range keeps the comparison's outcome and lets it fit in `acc_bits`.
pub fn clamp_threshold(t: i32, max_abs_acc: i64) -> i64 {
    (t as i64).clamp(-max_abs_acc, max_abs_acc + 1)
}

/// Weight word `nf*SF + sf` holds `W[nf*PE + p][sf*SIMD + s]` at bits `(p*SIMD + s)*WBITS`.
pub fn weights_hex(mv: &MatVec, pe: usize, simd: usize) -> String {
    let (rows, cols) = (mv.rows(), mv.cols());
    let wt = mv.weight_type();
    let w = mv.weights();
    lines((0..rows / pe).flat_map(move |nf| {
        (0..cols / simd).map(move |sf| {
            let mut word = Word::default();
            for p in 0..pe {
                for s in 0..simd {
                    word.push(wt.encode(w[[nf * pe + p, sf * simd + s]] as i32) as i64, wt.bits as usize);
                }
            }
            word
        })
    }))
}

/// Threshold word `nf` holds `T[nf*PE + p][t]` at bits `(p*NT + t)*ACC_BITS`.
pub fn thresholds_hex(mv: &MatVec, t: &MultiThreshold, pe: usize) -> String {
    let acc = acc_bits(mv);
    let m = mv.max_abs_acc();
    let th = t.thresholds();
    lines((0..mv.rows() / pe).map(|nf| {
        let mut word = Word::default();
        for p in 0..pe {
            for &v in th.row(nf * pe + p) {
                word.push(clamp_threshold(v, m), acc);
            }
        }
        word
    }))
}

/// Output bits from which the MVTU searches its thresholds (`threshold_search`, one ROM per PE
/// row and stage) instead of comparing against all of them at once: mirrors `mvtu.sv`.
pub const SEARCH_OBITS: usize = 4;

pub fn searched(obits: usize) -> bool {
    obits >= SEARCH_OBITS
}

/// The `THRESH_FILE` parameter for thresholds of `obits`-bit outputs stored under `base`: the
/// file itself, or for searched thresholds the prefix of their per-row, per-stage files.
pub fn threshold_param(obits: usize, base: &str) -> String {
    if searched(obits) { base.to_string() } else { format!("{base}.hex") }
}

/// Every threshold memory image of a layer as (file name, contents), named from `base` as
/// [`threshold_param`] says.
pub fn threshold_images(mv: &MatVec, t: &MultiThreshold, pe: usize, base: &str) -> Vec<(String, String)> {
    let obits = t.out_type().bits as usize;
    if !searched(obits) {
        return vec![(threshold_param(obits, base), thresholds_hex(mv, t, pe))];
    }
    let acc = acc_bits(mv);
    let m = mv.max_abs_acc();
    let th = t.thresholds();
    let nf = mv.rows() / pe;
    let mut files = vec![];
    for p in 0..pe {
        for s in 0..obits {
            // Stage s decides output bit obits-1-s; with the bits decided so far j, it compares
            // against threshold (2j+1) * 2^(obits-1-s) - 1 (word nf * 2^s + j).
            let step = 1usize << (obits - 1 - s);
            let text = lines((0..nf).flat_map(|f| {
                (0..1usize << s).map(move |j| {
                    let mut word = Word::default();
                    word.push(clamp_threshold(th[[f * pe + p, (2 * j + 1) * step - 1]], m), acc);
                    word
                })
            }));
            files.push((format!("{base}.l{p:04}.s{s}.hex"), text));
        }
    }
    files
}

/// Bias word `nf` holds `bias[nf*PE + p]` at bits `p*ACC_BITS`.
pub fn bias_hex(mv: &MatVec, bias: &[i32], pe: usize) -> String {
    let acc = acc_bits(mv);
    lines((0..mv.rows() / pe).map(|nf| {
        let mut word = Word::default();
        for p in 0..pe {
            word.push(bias[nf * pe + p] as i64, acc);
        }
        word
    }))
}

/// Input quantizer: word `c` holds channel `c`'s thresholds, 9-bit unsigned (256 = never) at `t*9`.
pub fn input_thresholds_hex(t: &MultiThreshold) -> String {
    lines((0..t.channels()).map(|c| {
        let mut word = Word::default();
        for &v in t.thresholds().row(c) {
            word.push((v as i64).clamp(0, 256), 9);
        }
        word
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_prints_msb_first_with_twos_complement_fields() {
        let mut w = Word::default();
        w.push(1, 1);
        w.push(-1, 4); // 1111
        w.push(0, 3);
        // bits (LSB first): 1, 1111, 000 -> value 0b000_1111_1 = 0x1f, 8 bits -> "1f"
        assert_eq!(w.hex(), "1f");
        let mut w = Word::default();
        w.push(5, 9);
        assert_eq!(w.hex(), "005");
    }

    #[test]
    fn acc_bits_covers_clamped_thresholds() {
        use golden_model::ops::OutputStage;
        use golden_model::{ActType, WeightType};
        let mv = MatVec::new(
            ActType { bits: 1 },
            WeightType { bits: 1 },
            ndarray::Array2::from_elem((1, 6), 1i8),
            OutputStage::Bias(vec![0]),
        )
        .unwrap();
        // |acc| <= 6 and thresholds clamp to -6..=7: 4 bits (-8..=7) hold both.
        assert_eq!(acc_bits(&mv), 4);
    }
}
