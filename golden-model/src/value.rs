//! Value types of the integer network: what a `W`-bit weight or an `A`-bit activation may hold, and how
//! the hardware encodes it in a stream or memory word.

use serde::{Deserialize, Serialize};

/// Bit widths the hardware supports for weights and activations.
pub const SUPPORTED_BITS: [u8; 4] = [1, 2, 4, 8];

/// An activation of `bits` bits: bipolar {-1, +1} at 1 bit, unsigned `0..=2^bits-1` otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ActType {
    pub bits: u8,
}

/// A weight of `bits` bits: bipolar {-1, +1} at 1 bit, signed two's complement otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct WeightType {
    pub bits: u8,
}

impl ActType {
    pub const PIXEL: ActType = ActType { bits: 8 };

    pub fn new(bits: u8) -> Option<Self> {
        SUPPORTED_BITS.contains(&bits).then_some(ActType { bits })
    }
    pub fn is_bipolar(self) -> bool {
        self.bits == 1
    }
    pub fn min(self) -> i32 {
        if self.is_bipolar() { -1 } else { 0 }
    }
    pub fn max(self) -> i32 {
        if self.is_bipolar() { 1 } else { (1 << self.bits) - 1 }
    }
    /// Largest |value|, for accumulator bounds.
    pub fn max_abs(self) -> i64 {
        self.max() as i64
    }
    pub fn contains(self, v: i32) -> bool {
        if self.is_bipolar() { v == -1 || v == 1 } else { (0..=self.max()).contains(&v) }
    }
    /// Number of thresholds a multi-threshold producing this type holds per channel.
    pub fn num_thresholds(self) -> usize {
        (1usize << self.bits) - 1
    }
    /// Value for a multi-threshold level `q` (number of thresholds passed).
    pub fn from_level(self, q: u32) -> i32 {
        if self.is_bipolar() { 2 * q as i32 - 1 } else { q as i32 }
    }
    /// Hardware encoding (the low `bits` bits of the result).
    pub fn encode(self, v: i32) -> u32 {
        if self.is_bipolar() { (v > 0) as u32 } else { v as u32 }
    }
    pub fn decode(self, raw: u32) -> i32 {
        let raw = raw & mask(self.bits);
        if self.is_bipolar() { 2 * raw as i32 - 1 } else { raw as i32 }
    }
}

impl WeightType {
    pub fn new(bits: u8) -> Option<Self> {
        SUPPORTED_BITS.contains(&bits).then_some(WeightType { bits })
    }
    pub fn is_bipolar(self) -> bool {
        self.bits == 1
    }
    pub fn min(self) -> i32 {
        if self.is_bipolar() { -1 } else { -(1 << (self.bits - 1)) }
    }
    pub fn max(self) -> i32 {
        if self.is_bipolar() { 1 } else { (1 << (self.bits - 1)) - 1 }
    }
    pub fn max_abs(self) -> i64 {
        -(self.min() as i64)
    }
    pub fn contains(self, v: i32) -> bool {
        if self.is_bipolar() { v == -1 || v == 1 } else { (self.min()..=self.max()).contains(&v) }
    }
    pub fn encode(self, v: i32) -> u32 {
        if self.is_bipolar() { (v > 0) as u32 } else { (v as u32) & mask(self.bits) }
    }
    pub fn decode(self, raw: u32) -> i32 {
        let raw = raw & mask(self.bits);
        if self.is_bipolar() {
            2 * raw as i32 - 1
        } else {
            let shift = 32 - self.bits as u32;
            ((raw << shift) as i32) >> shift
        }
    }
}

fn mask(bits: u8) -> u32 {
    if bits >= 32 { u32::MAX } else { (1u32 << bits) - 1 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_decode_roundtrip_every_value() {
        for bits in SUPPORTED_BITS {
            let a = ActType::new(bits).unwrap();
            for v in a.min()..=a.max() {
                if a.contains(v) {
                    assert_eq!(a.decode(a.encode(v)), v, "act bits={bits} v={v}");
                }
            }
            let w = WeightType::new(bits).unwrap();
            for v in w.min()..=w.max() {
                if w.contains(v) {
                    assert_eq!(w.decode(w.encode(v)), v, "weight bits={bits} v={v}");
                }
            }
        }
    }

    #[test]
    fn ranges() {
        assert_eq!((WeightType { bits: 4 }.min(), WeightType { bits: 4 }.max()), (-8, 7));
        assert_eq!((ActType { bits: 2 }.min(), ActType { bits: 2 }.max()), (0, 3));
        assert!(!WeightType { bits: 1 }.contains(0));
        assert_eq!(ActType { bits: 1 }.from_level(0), -1);
        assert_eq!(ActType { bits: 4 }.num_thresholds(), 15);
        assert!(ActType::new(3).is_none());
    }
}
