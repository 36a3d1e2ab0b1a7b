//! The fixed, named set of structural configurations: one Verilator library each, built once and
//! cached; property tests vary only the data and the stall patterns.

use rtlgen::folding::{Folding, LayerFold};
use golden_model::{ActType, Shape, WeightType};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    pub name: String,
    pub dut: Dut,
}

/// The device under test and its structural parameters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "module", rename_all = "snake_case")]
pub enum Dut {
    Mvtu(Mvtu),
    SlidingWindow(Window),
    /// The window-parallel generator: PIXELS whole windows per beat.
    SlidingWindowPar(WindowPar),
    Maxpool(Pool),
    /// The pixel-parallel pool: PIXELS whole pixels per beat.
    MaxpoolPar(PoolPar),
    InputQuant(Quant),
    StreamFifo(Fifo),
    StreamWidthConverter(Dwc),
    LabelSelect(Label),
    /// A small network stitched by the real generator.
    Network(Network),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mvtu {
    pub mw: usize,
    pub mh: usize,
    pub pe: usize,
    pub simd: usize,
    pub wbits: u8,
    pub abits: u8,
    /// 0: logit layer (acc + bias).
    pub obits: u8,
    pub use_bram: bool,
    /// Vectors per beat (the generator uses MMV > 1 only with PE = MH and SIMD = MW).
    #[serde(default = "one")]
    pub mmv: usize,
    /// Searched thresholds' stage ROMs of 256 words or more in block RAM.
    #[serde(default)]
    pub thresh_bram: bool,
}

fn one() -> usize {
    1
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub k: usize,
    pub ifm_h: usize,
    pub ifm_w: usize,
    pub channels: usize,
    pub simd: usize,
    pub ebits: u8,
}

/// Constraints (the module's): IFM_W % PIXELS == 0 and (K - 1) % PIXELS == 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowPar {
    pub k: usize,
    pub ifm_h: usize,
    pub ifm_w: usize,
    pub channels: usize,
    pub pixels: usize,
    pub ebits: u8,
}

/// Constraints: PIXELS even, IFM_W % PIXELS == 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolPar {
    pub ifm_h: usize,
    pub ifm_w: usize,
    pub channels: usize,
    pub pixels: usize,
    pub ebits: u8,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pool {
    pub ifm_h: usize,
    pub ifm_w: usize,
    pub channels: usize,
    pub pe: usize,
    pub ebits: u8,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quant {
    pub lanes: usize,
    pub channels: usize,
    pub obits: u8,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fifo {
    pub width: usize,
    pub depth: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dwc {
    pub in_elems: usize,
    pub out_elems: usize,
    pub ebits: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Label {
    pub classes: usize,
    pub pe: usize,
    pub acc_bits: usize,
}

/// A network's fixed structure and folding; weights, thresholds and biases are case data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Network {
    pub input: Shape,
    /// Activation bits of the input quantizer.
    pub quant_bits: u8,
    pub layers: Vec<NetLayer>,
    pub folding: Folding,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum NetLayer {
    Conv { kernel: usize, out_channels: usize, wbits: u8, obits: u8 },
    Maxpool,
    Dense { out_features: usize, wbits: u8, obits: u8 },
    /// The logit layer (dense, bias, no activation).
    Logits { classes: usize, wbits: u8 },
}

impl Mvtu {
    pub fn nf(&self) -> usize {
        self.mh / self.pe
    }
    pub fn sf(&self) -> usize {
        self.mw / self.simd
    }
    pub fn in_type(&self) -> ActType {
        ActType { bits: self.abits }
    }
    pub fn weight_type(&self) -> WeightType {
        WeightType { bits: self.wbits }
    }
    pub fn out_type(&self) -> Option<ActType> {
        (self.obits > 0).then_some(ActType { bits: self.obits })
    }
    pub fn max_abs_acc(&self) -> i64 {
        self.mw as i64 * self.weight_type().max_abs() * self.in_type().max_abs()
    }
    /// Biases a logit-layer case may hold (see [`BiasRange`]).
    pub fn bias_range(&self) -> BiasRange {
        BiasRange::new(self.max_abs_acc(), spread(self.mw, self.weight_type(), self.in_type()))
    }
    /// ACC_BITS as the generator chooses it (`rtlgen::mem::acc_bits`) for this structure and,
    /// for a logit layer, any bias in [`Mvtu::bias_range`].
    pub fn acc_bits(&self) -> usize {
        if self.obits == 0 { self.bias_range().acc_bits } else { bits_for(self.max_abs_acc() + 1) }
    }
    pub fn out_ebits(&self) -> usize {
        if self.obits == 0 { self.acc_bits() } else { self.obits as usize }
    }
}

/// Smallest b with 2^(b-1) - 1 >= m (the generator's rule in `rtlgen::mem::acc_bits`).
pub fn bits_for(m: i64) -> usize {
    1 + (64 - (m as u64).leading_zeros() as usize)
}

/// Typical |accumulator| of `cols` random products: where thresholds and biases are worth placing
/// (the rule of `golden_model::testing::typical_spread`).
pub fn spread(cols: usize, w: WeightType, a: ActType) -> i32 {
    let unit = (w.max_abs() * a.max_abs()) as f64;
    ((cols as f64).sqrt() * unit).ceil().max(2.0) as i32
}

/// Biases of a logit layer. The generator sizes ACC_BITS by the largest |bias|, and ACC_BITS is a
/// build parameter: so that one library serves every case, the largest |bias| of each case lies
/// in `lo..=hi`, the interval that gives the same ACC_BITS ([`BiasRange::pin`] moves one bias
/// into it when a strategy drew only small ones).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BiasRange {
    pub lo: i32,
    pub hi: i32,
    pub acc_bits: usize,
}

impl BiasRange {
    pub fn new(max_abs_acc: i64, spread: i32) -> BiasRange {
        let acc_bits = bits_for(max_abs_acc + spread as i64 + 1);
        // bits_for(m) == acc_bits exactly for 2^(acc_bits-2) <= m <= 2^(acc_bits-1) - 1.
        let lo = ((1i64 << (acc_bits - 2)) - 1 - max_abs_acc).max(0);
        let hi = (1i64 << (acc_bits - 1)) - 2 - max_abs_acc;
        BiasRange { lo: lo as i32, hi: hi as i32, acc_bits }
    }

    /// Makes the largest |bias| at least `lo` (raising the last one, keeping its sign).
    pub fn pin(&self, bias: &mut [i32]) {
        if bias.iter().all(|b| b.abs() < self.lo)
            && let Some(last) = bias.last_mut()
        {
            *last = if *last < 0 { -self.lo } else { self.lo };
        }
    }
}

impl Window {
    pub fn cf(&self) -> usize {
        self.channels / self.simd
    }
    pub fn ofm(&self) -> (usize, usize) {
        (self.ifm_h - self.k + 1, self.ifm_w - self.k + 1)
    }
    pub fn in_beats(&self) -> usize {
        self.ifm_h * self.ifm_w * self.cf()
    }
    pub fn out_beats(&self) -> usize {
        let (h, w) = self.ofm();
        h * w * self.k * self.k * self.cf()
    }
}

impl WindowPar {
    pub fn ofm(&self) -> (usize, usize) {
        (self.ifm_h - self.k + 1, self.ifm_w - self.k + 1)
    }
    pub fn in_beats(&self) -> usize {
        self.ifm_h * self.ifm_w / self.pixels
    }
    pub fn out_beats(&self) -> usize {
        let (h, w) = self.ofm();
        h * w / self.pixels
    }
    /// Elements of one output beat: PIXELS windows of K x K x CHANNELS.
    pub fn out_elems(&self) -> usize {
        self.pixels * self.k * self.k * self.channels
    }
}

impl PoolPar {
    pub fn in_beats(&self) -> usize {
        self.ifm_h * self.ifm_w / self.pixels
    }
    pub fn out_beats(&self) -> usize {
        (self.ifm_h / 2) * (self.ifm_w / 2) / (self.pixels / 2)
    }
}

impl Pool {
    pub fn cf(&self) -> usize {
        self.channels / self.pe
    }
    pub fn in_beats(&self) -> usize {
        self.ifm_h * self.ifm_w * self.cf()
    }
    pub fn out_beats(&self) -> usize {
        (self.ifm_h / 2) * (self.ifm_w / 2) * self.cf()
    }
}

impl Quant {
    pub fn out_type(&self) -> ActType {
        ActType { bits: self.obits }
    }
}

impl Dwc {
    /// Elements of the smallest whole number of beats on both sides.
    pub fn unit(&self) -> usize {
        self.in_elems.max(self.out_elems)
    }
}

impl Network {
    /// The layer list as the golden model sees it (quantizer first), with activation types.
    pub fn describe(&self) -> String {
        let mut parts = vec![format!("input {} quant a{}", self.input, self.quant_bits)];
        for l in &self.layers {
            parts.push(match l {
                NetLayer::Conv { kernel, out_channels, wbits, obits } => {
                    format!("conv{kernel}x{kernel}({out_channels}) w{wbits} a{obits}")
                }
                NetLayer::Maxpool => "maxpool".into(),
                NetLayer::Dense { out_features, wbits, obits } => format!("dense({out_features}) w{wbits} a{obits}"),
                NetLayer::Logits { classes, wbits } => format!("logits({classes}) w{wbits}"),
            });
        }
        parts.join(", ")
    }
}

impl Config {
    /// The RTL module at the top of the build (for networks, the generated wrapper).
    pub fn module(&self) -> &'static str {
        match &self.dut {
            Dut::Mvtu(_) => "mvtu",
            Dut::SlidingWindow(_) => "sliding_window",
            Dut::SlidingWindowPar(_) => "sliding_window_par",
            Dut::Maxpool(_) => "maxpool",
            Dut::MaxpoolPar(_) => "maxpool_par",
            Dut::InputQuant(_) => "input_quant",
            Dut::StreamFifo(_) => "stream_fifo",
            Dut::StreamWidthConverter(_) => "stream_width_converter",
            Dut::LabelSelect(_) => "label_select",
            Dut::Network(_) => "network",
        }
    }

    /// The integration-test binary (`harness/tests/<name>.rs`) holding this configuration's test.
    pub fn test_binary(&self) -> &'static str {
        match &self.dut {
            Dut::Network(_) => "rtl_networks",
            _ => "rtl_modules",
        }
    }

    /// Proptest cases per run unless `RTLCHECK_CASES` says otherwise. Simulation is cheap next to
    /// the builds (the default suite simulates in about 20 s warm), so cases are plentiful: the
    /// suite moves several 100,000 stream beats.
    pub fn default_cases(&self) -> u32 {
        match &self.dut {
            Dut::Network(_) => 48,
            _ => 128,
        }
    }

    /// Vectors (MVTU), images (window, pool, label, network) or beat groups per case: the
    /// strategies draw a count in this range, and the smallest sets the per-case minimum of
    /// stream transactions.
    pub fn items(&self) -> std::ops::RangeInclusive<usize> {
        match &self.dut {
            // Groups of MMV vectors.
            Dut::Mvtu(m) => 2..=(6 + 48 / (m.nf() * m.sf() * m.mmv)).min(24),
            Dut::SlidingWindow(_) | Dut::Maxpool(_) | Dut::SlidingWindowPar(_) | Dut::MaxpoolPar(_) => 2..=3,
            Dut::InputQuant(_) => 16..=64,
            Dut::StreamFifo(f) => (f.depth + 2)..=(3 * f.depth + 8),
            Dut::StreamWidthConverter(_) => 8..=40,
            Dut::LabelSelect(_) => 4..=16,
            Dut::Network(_) => 2..=3,
        }
    }

    /// Stream transactions (input + output beats) of a case with the fewest items.
    pub fn min_case_transactions(&self) -> u64 {
        let n = *self.items().start();
        let t = match &self.dut {
            Dut::Mvtu(m) => n * (m.sf() + m.nf()),
            Dut::SlidingWindow(w) => n * (w.in_beats() + w.out_beats()),
            Dut::SlidingWindowPar(w) => n * (w.in_beats() + w.out_beats()),
            Dut::Maxpool(p) => n * (p.in_beats() + p.out_beats()),
            Dut::MaxpoolPar(p) => n * (p.in_beats() + p.out_beats()),
            Dut::InputQuant(_) => 2 * n,
            Dut::StreamFifo(_) => 2 * n,
            Dut::StreamWidthConverter(d) => n * (d.unit() / d.in_elems + d.unit() / d.out_elems),
            Dut::LabelSelect(l) => n * (l.classes / l.pe + 1),
            Dut::Network(net) => {
                let px = net.input.len() / net.folding.in_pixels;
                n * (px + 1)
            }
        };
        t as u64
    }

    /// One line: name and parameters.
    pub fn describe(&self) -> String {
        let body = match &self.dut {
            Dut::Mvtu(m) => format!(
                "MW={} MH={} PE={} SIMD={} MMV={} WBITS={} ABITS={} OBITS={} ACC_BITS={} USE_BRAM={} THRESH_BRAM={}",
                m.mw,
                m.mh,
                m.pe,
                m.simd,
                m.mmv,
                m.wbits,
                m.abits,
                m.obits,
                m.acc_bits(),
                m.use_bram as u8,
                m.thresh_bram as u8
            ),
            Dut::SlidingWindowPar(w) => format!(
                "K={} IFM_H={} IFM_W={} CHANNELS={} PIXELS={} EBITS={}",
                w.k, w.ifm_h, w.ifm_w, w.channels, w.pixels, w.ebits
            ),
            Dut::MaxpoolPar(p) => format!(
                "IFM_H={} IFM_W={} CHANNELS={} PIXELS={} EBITS={}",
                p.ifm_h, p.ifm_w, p.channels, p.pixels, p.ebits
            ),
            Dut::SlidingWindow(w) => format!(
                "K={} IFM_H={} IFM_W={} CHANNELS={} SIMD={} EBITS={}",
                w.k, w.ifm_h, w.ifm_w, w.channels, w.simd, w.ebits
            ),
            Dut::Maxpool(p) => {
                format!("IFM_H={} IFM_W={} CHANNELS={} PE={} EBITS={}", p.ifm_h, p.ifm_w, p.channels, p.pe, p.ebits)
            }
            Dut::InputQuant(q) => format!("LANES={} CHANNELS={} OBITS={}", q.lanes, q.channels, q.obits),
            Dut::StreamFifo(f) => format!("WIDTH={} DEPTH={}", f.width, f.depth),
            Dut::StreamWidthConverter(d) => {
                format!("IN_ELEMS={} OUT_ELEMS={} EBITS={}", d.in_elems, d.out_elems, d.ebits)
            }
            Dut::LabelSelect(l) => format!("NUM_CLASSES={} PE={} ACC_BITS={}", l.classes, l.pe, l.acc_bits),
            Dut::Network(n) => format!("{}; folding {}", n.describe(), serde_json::to_string(&n.folding).unwrap_or_default()),
        };
        format!("{} ({} {body})", self.name, self.module())
    }
}

#[allow(clippy::too_many_arguments)] // one row of the configuration table
fn mvtu(name: &str, mw: usize, mh: usize, pe: usize, simd: usize, w: u8, a: u8, o: u8, bram: bool) -> Config {
    let m = Mvtu { mw, mh, pe, simd, wbits: w, abits: a, obits: o, use_bram: bram, mmv: 1, thresh_bram: false };
    Config { name: name.into(), dut: Dut::Mvtu(m) }
}

/// A fully parallel MVTU (PE = MH, SIMD = MW) taking `mmv` vectors per beat.
fn mvtu_mmv(name: &str, mw: usize, mh: usize, mmv: usize, w: u8, a: u8, o: u8) -> Config {
    let m = Mvtu { mw, mh, pe: mh, simd: mw, wbits: w, abits: a, obits: o, use_bram: false, mmv, thresh_bram: false };
    Config { name: name.into(), dut: Dut::Mvtu(m) }
}

fn window_par(name: &str, k: usize, h: usize, w: usize, c: usize, pixels: usize, e: u8) -> Config {
    let d = WindowPar { k, ifm_h: h, ifm_w: w, channels: c, pixels, ebits: e };
    Config { name: name.into(), dut: Dut::SlidingWindowPar(d) }
}

fn pool_par(name: &str, h: usize, w: usize, c: usize, pixels: usize, e: u8) -> Config {
    Config { name: name.into(), dut: Dut::MaxpoolPar(PoolPar { ifm_h: h, ifm_w: w, channels: c, pixels, ebits: e }) }
}

fn window(name: &str, k: usize, h: usize, w: usize, c: usize, simd: usize, e: u8) -> Config {
    Config { name: name.into(), dut: Dut::SlidingWindow(Window { k, ifm_h: h, ifm_w: w, channels: c, simd, ebits: e }) }
}

fn pool(name: &str, h: usize, w: usize, c: usize, pe: usize, e: u8) -> Config {
    Config { name: name.into(), dut: Dut::Maxpool(Pool { ifm_h: h, ifm_w: w, channels: c, pe, ebits: e }) }
}

fn fold(pe: usize, simd: usize) -> Option<LayerFold> {
    Some(LayerFold::new(pe, simd))
}

/// Every configuration, in the order the mutation run tries them (cheap and telling first).
pub fn configs() -> Vec<Config> {
    let mut v = vec![
        // One per weight x activation width; OBITS 0/1/2/4/8, USE_BRAM 0/1, PE=1/SIMD=1,
        // PE=MH, SIMD=MW (one fold in either direction) among them.
        mvtu("mvtu_w1a1_pe1_simd1_o2", 9, 3, 1, 1, 1, 1, 2, false),
        mvtu("mvtu_w1a1_pe16_simd64_o1_bram", 64, 16, 16, 64, 1, 1, 1, true),
        mvtu("mvtu_w1a2_pe2_simd4_o2", 16, 4, 2, 4, 1, 2, 2, false),
        mvtu("mvtu_w1a4_pe3_simd4_o4", 12, 6, 3, 4, 1, 4, 4, false),
        mvtu("mvtu_w1a8_pe4_simd2_o1", 8, 4, 4, 2, 1, 8, 1, false),
        mvtu("mvtu_w2a1_pe2_simd16_o2_bram", 16, 8, 2, 16, 2, 1, 2, true),
        mvtu("mvtu_w2a2_pe1_simd3_o1", 18, 3, 1, 3, 2, 2, 1, false),
        mvtu("mvtu_w2a4_pe2_simd2_o0", 8, 4, 2, 2, 2, 4, 0, false),
        mvtu("mvtu_w2a8_pe3_simd3_o4", 6, 6, 3, 3, 2, 8, 4, false),
        mvtu("mvtu_w4a1_pe1_simd1_o1", 16, 4, 1, 1, 4, 1, 1, false),
        mvtu("mvtu_w4a2_pe4_simd6_o2", 12, 8, 4, 6, 4, 2, 2, false),
        mvtu("mvtu_w4a4_pe2_simd4_o4_bram", 16, 4, 2, 4, 4, 4, 4, true),
        mvtu("mvtu_w4a8_pe2_simd8_o0", 8, 2, 2, 8, 4, 8, 0, false),
        mvtu("mvtu_w8a1_pe2_simd4_o8", 8, 4, 2, 4, 8, 1, 8, false),
        mvtu("mvtu_w8a2_pe1_simd2_o1", 6, 2, 1, 2, 8, 2, 1, false),
        mvtu("mvtu_w8a4_pe2_simd2_o2", 4, 4, 2, 2, 8, 4, 2, false),
        mvtu("mvtu_w8a8_pe2_simd4_o8", 8, 4, 2, 4, 8, 8, 8, false),
        // Adder trees of more than one registered stage, with a partial last node: 9 groups of 4
        // products, and 4 popcount groups of 64 (the last one of 8 lanes).
        mvtu("mvtu_w4a2_pe1_simd36_o2", 72, 2, 1, 36, 4, 2, 2, false),
        mvtu("mvtu_w1a1_pe2_simd200_o1", 400, 4, 2, 200, 1, 1, 1, false),
        // Searched 8-bit thresholds with their deepest stage ROMs (NF * 128 = 256 words) in
        // block RAM, as the generator places them for wide layers.
        Config {
            name: "mvtu_w4a4_pe2_simd4_o8_tbram".into(),
            dut: Dut::Mvtu(Mvtu { mw: 8, mh: 4, pe: 2, simd: 4, wbits: 4, abits: 4, obits: 8, use_bram: false, mmv: 1, thresh_bram: true }),
        },
        // Several vectors (windows) per beat: XNOR, masked (W1 x A>1) with searched thresholds,
        // multi-bit products, and a logit layer; MMV 2 and 3, non-power-of-two widths.
        mvtu_mmv("mvtu_w1a1_mmv2_o1", 18, 4, 2, 1, 1, 1),
        mvtu_mmv("mvtu_w1a2_mmv2_o4", 12, 2, 2, 1, 2, 4),
        mvtu_mmv("mvtu_w2a2_mmv3_o2", 6, 3, 3, 2, 2, 2),
        mvtu_mmv("mvtu_w4a4_mmv2_o0", 4, 2, 2, 4, 4, 0),
        // Sliding windows: K = 1, 3, 5; odd and non-square maps; SIMD < CHANNELS; K = map size.
        window("swg_k3_8x8_c4_simd2_e1", 3, 8, 8, 4, 2, 1),
        window("swg_k3_7x5_c6_simd3_e2", 3, 7, 5, 6, 3, 2),
        window("swg_k1_5x7_c3_simd3_e4", 1, 5, 7, 3, 3, 4),
        window("swg_k5_9x6_c2_simd1_e8", 5, 9, 6, 2, 1, 8),
        window("swg_k3_3x3_c1_simd1_e2", 3, 3, 3, 1, 1, 2),
        // Window-parallel generators: 1, 2 and 4 windows per beat; K = 1, 3, 5; K = map size;
        // odd heights and widths.
        window_par("swgp_k3_6x8_c2_px2_e1", 3, 6, 8, 2, 2, 1),
        window_par("swgp_k3_5x5_c3_px1_e2", 3, 5, 5, 3, 1, 2),
        window_par("swgp_k5_7x6_c1_px2_e4", 5, 7, 6, 1, 2, 4),
        window_par("swgp_k5_6x8_c1_px4_e1", 5, 6, 8, 1, 4, 1),
        window_par("swgp_k1_3x4_c2_px2_e8", 1, 3, 4, 2, 2, 8),
        window_par("swgp_k3_3x3_c1_px1_e1", 3, 3, 3, 1, 1, 1),
        // Max-pools: odd sizes (dropped row/column), PE < CHANNELS, bipolar OR and unsigned max.
        pool("pool_4x4_c4_pe2_e1", 4, 4, 4, 2, 1),
        pool("pool_5x7_c6_pe3_e4", 5, 7, 6, 3, 4),
        pool("pool_7x5_c4_pe4_e2", 7, 5, 4, 4, 2),
        // Pixel-parallel pools: 2 and 4 pixels per beat, odd heights (last row dropped), one row
        // beat per row.
        pool_par("poolp_4x4_c2_px2_e1", 4, 4, 2, 2, 1),
        pool_par("poolp_5x6_c3_px2_e4", 5, 6, 3, 2, 4),
        pool_par("poolp_6x8_c1_px4_e2", 6, 8, 1, 4, 2),
        pool_par("poolp_3x4_c2_px4_e8", 3, 4, 2, 4, 8),
    ];
    for (l, c, o) in [(1, 1, 8), (4, 2, 2), (6, 3, 4)] {
        v.push(Config {
            name: format!("iq_lanes{l}_c{c}_o{o}"),
            dut: Dut::InputQuant(Quant { lanes: l, channels: c, obits: o }),
        });
    }
    // FIFOs: flop/LUT path (<= 32, powers of two and not) and the RAM path (> 32).
    for (w, d) in [(8, 2), (5, 3), (1, 32), (16, 33), (7, 40)] {
        v.push(Config { name: format!("fifo_w{w}_d{d}"), dut: Dut::StreamFifo(Fifo { width: w, depth: d }) });
    }
    // Width converters: down, up, equal, ratio 3 both ways.
    for (i, o, e) in [(4, 1, 2), (1, 4, 1), (4, 4, 3), (3, 1, 4), (2, 6, 4)] {
        v.push(Config {
            name: format!("dwc_{i}to{o}_e{e}"),
            dut: Dut::StreamWidthConverter(Dwc { in_elems: i, out_elems: o, ebits: e }),
        });
    }
    for (n, p, a) in [(10, 5, 32), (4, 1, 6), (3, 3, 8)] {
        v.push(Config {
            name: format!("label_n{n}_pe{p}_acc{a}"),
            dut: Dut::LabelSelect(Label { classes: n, pe: p, acc_bits: a }),
        });
    }
    v.extend(networks());
    v
}

/// Small networks stitched by the generator: a binarized CNV-like one with 8-bit input
/// activations (as the real models), a multi-bit one with K=1 and K=3 convolutions, and an MLP.
fn networks() -> Vec<Config> {
    let cnv = Network {
        input: Shape::new(7, 7, 1),
        quant_bits: 8,
        layers: vec![
            NetLayer::Conv { kernel: 3, out_channels: 4, wbits: 1, obits: 1 },
            NetLayer::Maxpool,
            NetLayer::Dense { out_features: 6, wbits: 1, obits: 1 },
            NetLayer::Logits { classes: 2, wbits: 1 },
        ],
        // in_pixels 7 and SIMD 1: converters 7 -> 1; PE 2 -> dense SIMD 4 through gcd 2.
        folding: Folding { in_pixels: 7, layers: vec![None, fold(2, 1), None, fold(3, 4), fold(1, 2)], fifo_depth: 4, fifo_depths: vec![] },
    };
    let multibit = Network {
        input: Shape::new(6, 5, 2),
        quant_bits: 2,
        layers: vec![
            NetLayer::Conv { kernel: 3, out_channels: 6, wbits: 2, obits: 2 },
            NetLayer::Conv { kernel: 1, out_channels: 4, wbits: 4, obits: 4 },
            NetLayer::Maxpool,
            NetLayer::Logits { classes: 3, wbits: 2 },
        ],
        // PE 3 -> SIMD 2 needs two converters (3 -> 1 -> 2); fifo depth 3 is not a power of two.
        folding: Folding { in_pixels: 6, layers: vec![None, fold(3, 2), fold(2, 2), None, fold(3, 4)], fifo_depth: 3, fifo_depths: vec![] },
    };
    let mlp = Network {
        input: Shape::new(4, 4, 1),
        quant_bits: 4,
        layers: vec![
            NetLayer::Dense { out_features: 12, wbits: 4, obits: 4 },
            NetLayer::Dense { out_features: 8, wbits: 8, obits: 2 },
            NetLayer::Logits { classes: 2, wbits: 4 },
        ],
        folding: Folding { in_pixels: 4, layers: vec![None, fold(4, 8), fold(2, 3), fold(2, 8)], fifo_depth: 34, fifo_depths: vec![] },
    };
    // Two windows per beat end to end: 2 pixels per input beat, a window-parallel conv taking two
    // whole windows per cycle, the pixel-parallel pool behind it.
    let cnv_px2 = Network {
        input: Shape::new(8, 8, 1),
        quant_bits: 8,
        layers: vec![
            NetLayer::Conv { kernel: 3, out_channels: 4, wbits: 1, obits: 1 },
            NetLayer::Maxpool,
            NetLayer::Dense { out_features: 6, wbits: 1, obits: 1 },
            NetLayer::Logits { classes: 2, wbits: 1 },
        ],
        folding: Folding {
            in_pixels: 2,
            layers: vec![None, Some(LayerFold { pe: 4, simd: 9, mmv: 2 }), None, fold(6, 12), fold(2, 6)],
            fifo_depth: 4,
            fifo_depths: vec![],
        },
    };
    // A window-parallel generator feeding a SIMD narrower than the window (SIMD 6 of 18 columns,
    // not a multiple of the 2 channels' serial fold), then a multi-bit 1x1 conv taking two
    // windows per beat.
    let par_multibit = Network {
        input: Shape::new(6, 4, 2),
        quant_bits: 2,
        layers: vec![
            NetLayer::Conv { kernel: 3, out_channels: 3, wbits: 2, obits: 2 },
            NetLayer::Conv { kernel: 1, out_channels: 2, wbits: 4, obits: 4 },
            NetLayer::Maxpool,
            NetLayer::Logits { classes: 3, wbits: 2 },
        ],
        folding: Folding {
            in_pixels: 2,
            layers: vec![None, fold(3, 6), Some(LayerFold { pe: 2, simd: 3, mmv: 2 }), None, fold(1, 2)],
            fifo_depth: 3,
            fifo_depths: vec![],
        },
    };
    vec![
        Config { name: "net_cnv_w1a1".into(), dut: Dut::Network(cnv) },
        Config { name: "net_cnv_w1a1_px2".into(), dut: Dut::Network(cnv_px2) },
        Config { name: "net_par_w2a2_w4a4".into(), dut: Dut::Network(par_multibit) },
        Config { name: "net_cnv_w2a2_w4a4".into(), dut: Dut::Network(multibit) },
        Config { name: "net_mlp_w4a4_w8a2".into(), dut: Dut::Network(mlp) },
    ]
}

/// The configuration called `name`.
pub fn config(name: &str) -> Option<Config> {
    configs().into_iter().find(|c| c.name == name)
}
