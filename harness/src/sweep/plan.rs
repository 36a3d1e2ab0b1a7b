//! What a sweep runs: architectures x bit widths x seeds, in a fixed order, and how the jobs split
//! into shards (`--shard i/n`) so that machines of a CI matrix or a Slurm array share them.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

pub const DEFAULT_ARCHS: [&str; 1] = ["cnv"];
pub const DEFAULT_BITS: [&str; 5] = ["w1a1", "w1a2", "w2a2", "w4a4", "w8a8"];
pub const DEFAULT_SEEDS: [u64; 3] = [1, 2, 3];

/// Bit widths of one model: `w<W>a<A>`, or `w<W>a<A>i<I>` when the input quantizer is not 8-bit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct BitWidth {
    pub wbits: u8,
    pub abits: u8,
    pub in_bits: u8,
}

impl BitWidth {
    pub fn tag(&self) -> String {
        train::Bits { wbits: self.wbits, abits: self.abits, in_bits: self.in_bits }.tag()
    }
    /// Weight plus activation bits: the x axis of "accuracy vs bit width".
    pub fn total(&self) -> u32 {
        u32::from(self.wbits) + u32::from(self.abits)
    }
}

impl fmt::Display for BitWidth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.tag())
    }
}

impl FromStr for BitWidth {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "`{s}` is not a bit width: write w<W>a<A> or w<W>a<A>i<I> with W, A, I in 1, 2, 4, 8 (e.g. w1a1, w4a4i8)"
            )
        };
        let t = s.trim().to_ascii_lowercase();
        let rest = t.strip_prefix('w').ok_or_else(bad)?;
        let (w, rest) = rest.split_once('a').ok_or_else(bad)?;
        let (a, i) = match rest.split_once('i') {
            Some((a, i)) => (a, i),
            None => (rest, "8"),
        };
        let num = |x: &str| x.parse::<u8>().map_err(|_| bad());
        let b = train::Bits::new(num(w)?, num(a)?, num(i)?).map_err(|e| format!("`{s}`: {e}"))?;
        Ok(BitWidth { wbits: b.wbits, abits: b.abits, in_bits: b.in_bits })
    }
}

fn no_duplicates<T: PartialEq + fmt::Display>(what: &str, v: &[T]) -> Result<(), String> {
    for (i, x) in v.iter().enumerate() {
        if v[..i].contains(x) {
            return Err(format!("{what} `{x}` is listed twice"));
        }
    }
    Ok(())
}

/// Comma-separated bit widths, e.g. `w1a1,w2a2`.
pub fn parse_bits_list(s: &str) -> Result<Vec<BitWidth>, String> {
    let v = s.split(',').filter(|x| !x.trim().is_empty()).map(str::parse).collect::<Result<Vec<BitWidth>, _>>()?;
    if v.is_empty() {
        return Err("no bit widths given (e.g. --bits w1a1,w2a2)".into());
    }
    no_duplicates("bit width", &v)?;
    Ok(v)
}

/// Comma-separated seeds, e.g. `1,2,3`.
pub fn parse_seeds(s: &str) -> Result<Vec<u64>, String> {
    let v = s
        .split(',')
        .filter(|x| !x.trim().is_empty())
        .map(|x| x.trim().parse::<u64>().map_err(|_| format!("seed `{}` is not a non-negative integer", x.trim())))
        .collect::<Result<Vec<u64>, _>>()?;
    if v.is_empty() {
        return Err("no seeds given (e.g. --seeds 1,2,3)".into());
    }
    no_duplicates("seed", &v)?;
    Ok(v)
}

/// Comma-separated architectures, e.g. `cnv,mlp`, in canonical names.
pub fn parse_archs(s: &str) -> Result<Vec<String>, String> {
    let v = s
        .split(',')
        .filter(|x| !x.trim().is_empty())
        .map(|x| x.trim().parse::<train::Arch>().map(|a| a.name().to_string()))
        .collect::<Result<Vec<String>, _>>()?;
    if v.is_empty() {
        return Err("no architectures given (e.g. --arch cnv)".into());
    }
    no_duplicates("architecture", &v)?;
    Ok(v)
}

/// One model to train and report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    pub arch: String,
    pub bits: BitWidth,
    pub seed: u64,
}

impl Job {
    /// File-name-safe identity, e.g. `cnv-w1a1-s2`.
    pub fn id(&self) -> String {
        format!("{}-{}-s{}", self.arch, self.bits.tag(), self.seed)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub archs: Vec<String>,
    pub bits: Vec<BitWidth>,
    pub seeds: Vec<u64>,
    /// Training epochs (`None` = the trainer's default for the architecture).
    pub epochs: Option<usize>,
}

impl Default for Plan {
    fn default() -> Self {
        Plan {
            archs: DEFAULT_ARCHS.iter().map(|s| s.to_string()).collect(),
            bits: DEFAULT_BITS.iter().map(|s| s.parse().expect("default bit widths parse")).collect(),
            seeds: DEFAULT_SEEDS.to_vec(),
            epochs: None,
        }
    }
}

impl Plan {
    /// Every job, architecture-major, then bit widths and seeds in the order given: the order is part
    /// of the shard contract, so every machine must derive the same list from the same flags.
    pub fn jobs(&self) -> Vec<Job> {
        let mut v = vec![];
        for arch in &self.archs {
            for bits in &self.bits {
                for &seed in &self.seeds {
                    v.push(Job { arch: arch.clone(), bits: *bits, seed });
                }
            }
        }
        v
    }
}

/// Share `index` (1-based) of `count`: job `j` (0-based, plan order) belongs to it when
/// `j % count == index - 1`, so shards are disjoint, cover every job and differ in size by at most one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    pub fn new(index: usize, count: usize) -> Result<Shard, String> {
        if count == 0 {
            return Err("shard count must be at least 1 (e.g. --shard 1/4)".into());
        }
        if index == 0 || index > count {
            return Err(format!("shard {index}/{count}: the index is 1-based and at most the count (1..={count})"));
        }
        Ok(Shard { index, count })
    }
    pub fn contains(&self, job_index: usize) -> bool {
        job_index % self.count == self.index - 1
    }
    pub fn select<'a>(&self, jobs: &'a [Job]) -> Vec<&'a Job> {
        jobs.iter().enumerate().filter(|(j, _)| self.contains(*j)).map(|(_, job)| job).collect()
    }
}

impl FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("`{s}` is not a shard: write i/n, e.g. 2/4 for the second of four shares");
        let (i, n) = s.trim().split_once('/').ok_or_else(bad)?;
        let i = i.trim().parse::<usize>().map_err(|_| bad())?;
        let n = n.trim().parse::<usize>().map_err(|_| bad())?;
        Shard::new(i, n)
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}
