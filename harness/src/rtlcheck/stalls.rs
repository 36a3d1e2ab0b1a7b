//! Stall patterns of a case, in a replayable, readable form: `"1101"` repeats with the run's
//! cycles (1 = tvalid offered / tready high), `""` means every cycle.

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};
use sim::{Pattern, Stalls};

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StallSpec {
    pub in_valid: String,
    pub out_ready: String,
}

impl StallSpec {
    pub fn none() -> StallSpec {
        StallSpec::default()
    }

    /// From "stall here" flags, as strategies draw them: shrinking a flag towards `false` removes
    /// a stall, and an always-open cycle at the end keeps the pattern from never moving.
    pub fn from_stall_flags(in_stalls: &[bool], out_stalls: &[bool]) -> StallSpec {
        let pat = |flags: &[bool]| -> String {
            if flags.iter().all(|&s| !s) {
                return String::new();
            }
            flags.iter().map(|&s| if s { '0' } else { '1' }).chain(std::iter::once('1')).collect()
        };
        StallSpec { in_valid: pat(in_stalls), out_ready: pat(out_stalls) }
    }

    pub fn is_none(&self) -> bool {
        self.in_valid.is_empty() && self.out_ready.is_empty()
    }

    pub fn to_stalls(&self) -> Result<Stalls> {
        Ok(Stalls { in_valid: pattern(&self.in_valid, "in_valid")?, out_ready: pattern(&self.out_ready, "out_ready")? })
    }

    pub fn describe(&self) -> String {
        let show = |p: &str| if p.is_empty() { "always".to_string() } else { format!("\"{p}\" (repeating)") };
        format!("s_axis_tvalid offered {}, m_axis_tready {}", show(&self.in_valid), show(&self.out_ready))
    }
}

fn pattern(p: &str, which: &str) -> Result<Pattern> {
    if p.is_empty() {
        return Ok(Pattern::Always);
    }
    match Pattern::parse(p) {
        Some(pat) if p.contains('1') => Ok(pat),
        Some(_) => bail!("{which} pattern \"{p}\" is never high, so no beat could move"),
        None => bail!("{which} pattern \"{p}\" may only hold '0' and '1'"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_become_patterns_that_always_move() {
        let s = StallSpec::from_stall_flags(&[true, false, true], &[]);
        assert_eq!(s.in_valid, "0101");
        assert_eq!(s.out_ready, "");
        assert!(StallSpec::from_stall_flags(&[false, false], &[false]).is_none());
        assert!(StallSpec { in_valid: "00".into(), out_ready: String::new() }.to_stalls().is_err());
    }
}
