//! Architectures: the layer lists the trainer builds and the exporter turns into golden-model layers.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Side of the square grayscale input image.
pub const INPUT_SIZE: usize = 64;
/// NORMAL, PNEUMONIA.
pub const NUM_CLASSES: usize = 2;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Arch {
    /// Fully connected network in the style of FINN's SFC: 4096 -> 256 -> 256 -> 256 -> 2.
    Mlp,
    /// FINN CNV-style convolutional network: four conv3x3 + max-pool blocks, one dense layer, logits.
    Cnv,
}

impl Arch {
    pub const ALL: [Arch; 2] = [Arch::Mlp, Arch::Cnv];

    pub fn name(self) -> &'static str {
        match self {
            Arch::Mlp => "mlp",
            Arch::Cnv => "cnv",
        }
    }

    /// The default layer list (hidden layers only; the 2-way logit layer is implied).
    pub fn layers(self) -> Vec<LayerSpec> {
        match self {
            Arch::Mlp => vec![LayerSpec::Dense { out: 256 }, LayerSpec::Dense { out: 256 }, LayerSpec::Dense { out: 256 }],
            Arch::Cnv => vec![
                LayerSpec::Conv { kernel: 3, out: 16, pool: true },
                LayerSpec::Conv { kernel: 3, out: 32, pool: true },
                LayerSpec::Conv { kernel: 3, out: 96, pool: true },
                LayerSpec::Conv { kernel: 3, out: 128, pool: true },
                LayerSpec::Dense { out: 256 },
            ],
        }
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Arch {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "mlp" | "sfc" | "fc" => Ok(Arch::Mlp),
            "cnv" | "cnn" => Ok(Arch::Cnv),
            _ => Err(format!("unknown architecture `{s}` (expected `mlp` or `cnv`)")),
        }
    }
}

/// One hidden layer. Every hidden layer is followed by batch norm and a quantized activation, which
/// fold into the multi-threshold of the exported layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum LayerSpec {
    /// `kernel x kernel` convolution, stride 1, no padding, optionally followed by a 2x2 max-pool.
    Conv { kernel: usize, out: usize, pool: bool },
    /// Fully connected.
    Dense { out: usize },
}

impl LayerSpec {
    /// Parses a compact list such as `c16p,c32p,c64p,c64p,d128` (`cN` conv3x3 with N channels, `p`
    /// suffix = max-pool after it, `c5x16` a 5x5 kernel, `dN` dense with N outputs).
    pub fn parse_list(s: &str) -> Result<Vec<LayerSpec>, String> {
        let mut v = vec![];
        for tok in s.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let bad = || format!("bad layer `{tok}` (expected e.g. c16p, c5x32, d256)");
            if let Some(rest) = tok.strip_prefix('c') {
                let (rest, pool) = match rest.strip_suffix('p') {
                    Some(r) => (r, true),
                    None => (rest, false),
                };
                let (kernel, out) = match rest.split_once('x') {
                    Some((k, o)) => (k.parse().map_err(|_| bad())?, o.parse().map_err(|_| bad())?),
                    None => (3, rest.parse().map_err(|_| bad())?),
                };
                if kernel == 0 || out == 0 {
                    return Err(bad());
                }
                v.push(LayerSpec::Conv { kernel, out, pool });
            } else if let Some(rest) = tok.strip_prefix('d') {
                let out: usize = rest.parse().map_err(|_| bad())?;
                if out == 0 {
                    return Err(bad());
                }
                v.push(LayerSpec::Dense { out });
            } else {
                return Err(bad());
            }
        }
        if v.is_empty() {
            return Err("empty layer list".into());
        }
        Ok(v)
    }

    pub fn to_token(&self) -> String {
        match *self {
            LayerSpec::Conv { kernel: 3, out, pool } => format!("c{out}{}", if pool { "p" } else { "" }),
            LayerSpec::Conv { kernel, out, pool } => format!("c{kernel}x{out}{}", if pool { "p" } else { "" }),
            LayerSpec::Dense { out } => format!("d{out}"),
        }
    }
}

pub fn layers_to_string(l: &[LayerSpec]) -> String {
    l.iter().map(LayerSpec::to_token).collect::<Vec<_>>().join(",")
}

/// Shape bookkeeping of a layer list on a `size x size x 1` input: per layer the matrix size
/// (rows = outputs, cols = fan-in) and output positions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LayerGeometry {
    /// Input map `(h, w, c)`.
    pub input: (usize, usize, usize),
    /// Kernel `(kh, kw)`; a dense layer is a kernel covering the whole input map.
    pub kernel: (usize, usize),
    /// Output channels / features.
    pub out: usize,
    /// Output positions before pooling `(oh, ow)`.
    pub out_hw: (usize, usize),
    pub pool: bool,
    pub is_conv: bool,
}

impl LayerGeometry {
    pub fn fan_in(&self) -> usize {
        self.kernel.0 * self.kernel.1 * self.input.2
    }
    pub fn params(&self) -> usize {
        self.fan_in() * self.out
    }
    pub fn macs(&self) -> usize {
        self.params() * self.out_hw.0 * self.out_hw.1
    }
    /// Output map after the optional pool.
    pub fn output(&self) -> (usize, usize, usize) {
        let (h, w) = self.out_hw;
        if self.pool { (h / 2, w / 2, self.out) } else { (h, w, self.out) }
    }
}

/// Geometry of every layer including the final logit layer (last entry). Errors when a map shrinks
/// below a kernel or a pool.
pub fn geometry(layers: &[LayerSpec], size: usize, classes: usize) -> Result<Vec<LayerGeometry>, String> {
    let mut shape = (size, size, 1usize);
    let mut out = vec![];
    for (i, l) in layers.iter().enumerate() {
        let g = match *l {
            LayerSpec::Conv { kernel, out, pool } => {
                if shape.0 < kernel || shape.1 < kernel {
                    return Err(format!("layer {i}: {}x{} map is smaller than the {kernel}x{kernel} kernel", shape.0, shape.1));
                }
                let oh = shape.0 - kernel + 1;
                let ow = shape.1 - kernel + 1;
                if pool && (oh < 2 || ow < 2) {
                    return Err(format!("layer {i}: {oh}x{ow} map is too small to pool"));
                }
                LayerGeometry { input: shape, kernel: (kernel, kernel), out, out_hw: (oh, ow), pool, is_conv: true }
            }
            LayerSpec::Dense { out } => {
                LayerGeometry { input: shape, kernel: (shape.0, shape.1), out, out_hw: (1, 1), pool: false, is_conv: false }
            }
        };
        shape = g.output();
        out.push(g);
    }
    out.push(LayerGeometry {
        input: shape,
        kernel: (shape.0, shape.1),
        out: classes,
        out_hw: (1, 1),
        pool: false,
        is_conv: false,
    });
    Ok(out)
}

/// Parameter count (weights) and multiply-accumulates per image.
pub fn cost(layers: &[LayerSpec], size: usize) -> (usize, usize) {
    let g = geometry(layers, size, NUM_CLASSES).expect("valid layer list");
    (g.iter().map(LayerGeometry::params).sum(), g.iter().map(LayerGeometry::macs).sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_roundtrip() {
        let l = LayerSpec::parse_list("c16p, c5x32p,c64,d256").unwrap();
        assert_eq!(layers_to_string(&l), "c16p,c5x32p,c64,d256");
        assert!(LayerSpec::parse_list("x3").is_err());
        assert!(LayerSpec::parse_list("").is_err());
    }

    #[test]
    fn default_geometries() {
        let g = geometry(&Arch::Cnv.layers(), 64, 2).unwrap();
        let outs: Vec<_> = g.iter().map(|g| g.output()).collect();
        assert_eq!(outs, vec![(31, 31, 16), (14, 14, 32), (6, 6, 96), (2, 2, 128), (1, 1, 256), (1, 1, 2)]);
        // The figures train/README.md quotes for the default CNV.
        assert_eq!(cost(&Arch::Cnv.layers(), 64), (274_576, 10_311_232));
        let g = geometry(&Arch::Mlp.layers(), 64, 2).unwrap();
        assert_eq!(g[0].fan_in(), 4096);
        assert!(geometry(&LayerSpec::parse_list("c16p,c16p,c16p,c16p,c16p").unwrap(), 64, 2).is_err());
    }
}
