//! From a model and a folding to the chain of hardware stages: quantizer, width converters, sliding
//! windows, matrix-vector-threshold units, max-pools, FIFOs and the label unit, with their parameters,
//! stream widths, beats per image and memory images.

use super::folding::{self, Folding, LayerFold, Window};
use super::{estimate, mem};
use golden_model::ops::OutputStage;
use golden_model::{Model, Op};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Param {
    Int(i64),
    Str(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    InputQuant,
    WidthConverter,
    SlidingWindow,
    SlidingWindowPar,
    Mvtu,
    MaxPool,
    MaxPoolPar,
    Fifo,
    LabelSelect,
}

impl Kind {
    pub fn module(self) -> &'static str {
        match self {
            Kind::InputQuant => "input_quant",
            Kind::WidthConverter => "stream_width_converter",
            Kind::SlidingWindow => "sliding_window",
            Kind::SlidingWindowPar => "sliding_window_par",
            Kind::Mvtu => "mvtu",
            Kind::MaxPool => "maxpool",
            Kind::MaxPoolPar => "maxpool_par",
            Kind::Fifo => "stream_fifo",
            Kind::LabelSelect => "label_select",
        }
    }
}

/// One RTL instance in the chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stage {
    /// Instance name; its output stream is `<name>_tdata/_tvalid/_tready`.
    pub name: String,
    pub kind: Kind,
    /// Index of the model layer this stage belongs to.
    pub layer: usize,
    pub params: BTreeMap<String, Param>,
    pub in_width: usize,
    pub out_width: usize,
    /// Bits of one element on the input and output streams (`width = elements x ebits`); the
    /// label unit's output beat counts as one element.
    pub in_ebits: usize,
    pub out_ebits: usize,
    /// Beats per image in and out.
    pub in_beats: u64,
    pub out_beats: u64,
    /// Estimated cycles per image at full throughput.
    pub cycles: u64,
    /// Memory images this stage reads: (parameter, file name relative to the memory directory).
    pub mem_files: Vec<(String, String)>,
}

impl Stage {
    pub fn int(&self, key: &str) -> i64 {
        match self.params.get(key) {
            Some(Param::Int(v)) => *v,
            _ => panic!("stage {} has no integer parameter {key}", self.name),
        }
    }
}

pub struct Plan {
    pub stages: Vec<Stage>,
    /// File name -> contents of every memory image.
    pub memories: BTreeMap<String, String>,
    pub in_width: usize,
    pub out_width: usize,
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

struct Builder<'a> {
    stages: Vec<Stage>,
    /// None when only the stage chain is wanted (folding search): memory images are the costly part.
    memories: Option<BTreeMap<String, String>>,
    folding: &'a Folding,
    /// Fold (elements per beat) and element bits of the stream the last stage produces.
    fold: usize,
    ebits: usize,
    /// Elements of one image on that stream.
    elems: u64,
}

impl Builder<'_> {
    fn push(&mut self, mut s: Stage) {
        s.cycles = s.cycles.max(s.in_beats).max(s.out_beats);
        s.out_ebits = if s.kind == Kind::LabelSelect { s.out_width } else { self.ebits };
        self.stages.push(s);
    }

    fn stage(&self, name: String, kind: Kind, layer: usize, params: Vec<(&str, Param)>) -> Stage {
        Stage {
            name,
            kind,
            layer,
            params: params.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
            in_width: self.fold * self.ebits,
            out_width: 0,
            in_ebits: self.ebits,
            out_ebits: 0,
            in_beats: self.elems / self.fold as u64,
            out_beats: 0,
            cycles: 0,
            mem_files: vec![],
        }
    }

    /// Re-beat the current stream to `fold` elements (through the gcd when neither divides the other).
    fn convert_to(&mut self, fold: usize, layer: usize, prefix: &str) {
        if self.fold == fold {
            return;
        }
        let mid = gcd(self.fold, fold);
        let steps: Vec<usize> = if mid == self.fold || mid == fold { vec![fold] } else { vec![mid, fold] };
        // A layer may convert twice (into a window-parallel generator and out of it).
        let before = self.stages.iter().filter(|s| s.layer == layer && s.kind == Kind::WidthConverter).count();
        for (i, to) in steps.into_iter().enumerate() {
            let mut s = self.stage(
                format!("{prefix}_dwc{}", before + i),
                Kind::WidthConverter,
                layer,
                vec![
                    ("IN_ELEMS", Param::Int(self.fold as i64)),
                    ("OUT_ELEMS", Param::Int(to as i64)),
                    ("EBITS", Param::Int(self.ebits as i64)),
                ],
            );
            s.out_width = to * self.ebits;
            s.out_beats = self.elems / to as u64;
            self.fold = to;
            self.push(s);
        }
    }

    /// A dense MVTU reads its input vector only during its first output fold, then computes for
    /// the rest of the image: the FIFO in front of it must hold a whole vector, or the producer
    /// stalls and the two layers serialise instead of overlapping.
    fn hold_whole_vector(&mut self) {
        let beats = self.elems.div_ceil(self.fold as u64) as i64;
        if let Some(f) = self.stages.iter_mut().rev().find(|s| s.kind == Kind::Fifo)
            && f.int("DEPTH") < beats
        {
            f.params.insert("DEPTH".into(), Param::Int(beats));
        }
    }

    fn memory(&mut self, file: &str, text: impl FnOnce() -> String) {
        if let Some(m) = &mut self.memories {
            m.insert(file.to_string(), text());
        }
    }

    fn fifo(&mut self, layer: usize, prefix: &str) {
        let width = self.fold * self.ebits;
        let depth = self.folding.fifo_after(layer);
        let mut s = self.stage(
            format!("{prefix}_fifo"),
            Kind::Fifo,
            layer,
            vec![("WIDTH", Param::Int(width as i64)), ("DEPTH", Param::Int(depth as i64))],
        );
        s.out_width = width;
        s.out_beats = s.in_beats;
        self.push(s);
    }
}

/// `mem_dir` is where the memory images will live; stage parameters name them by absolute path.
pub fn plan(model: &Model, folding: &Folding, mem_dir: &std::path::Path) -> Result<Plan, String> {
    build(model, folding, Some(mem_dir))
}

/// The stage chain alone (no memory images, placeholder file parameters): for estimates while
/// searching foldings.
pub fn plan_shape(model: &Model, folding: &Folding) -> Result<Plan, String> {
    build(model, folding, None)
}

/// An input quantizer with 8-bit output and thresholds 1..=255 passes pixels through unchanged:
/// it is wiring, not 255 comparators per lane, so it gets no stage at all.
fn is_identity(q: &golden_model::ops::InputQuant) -> bool {
    *q == golden_model::ops::InputQuant::identity(q.channels())
}

fn build(model: &Model, folding: &Folding, mem_dir: Option<&std::path::Path>) -> Result<Plan, String> {
    folding.validate(model)?;
    let path = |f: &str| Param::Str(mem_dir.map_or_else(|| f.to_string(), |d| d.join(f).display().to_string()));
    let input = model.input_shape();
    let mut b = Builder {
        stages: vec![],
        memories: mem_dir.map(|_| BTreeMap::new()),
        folding,
        fold: folding.in_pixels,
        ebits: 8,
        elems: input.len() as u64,
    };
    let n = model.layers().len();
    for (i, layer) in model.layers().iter().enumerate() {
        let name = format!("l{i}_{}", sanitize(&layer.name));
        let in_shape = model.layer_input_shape(i);
        match &layer.op {
            Op::InputQuant(q) if is_identity(q) => {}
            Op::InputQuant(q) => {
                let file = format!("{name}_thresholds.hex");
                b.memory(&file, || mem::input_thresholds_hex(q.thresholds()));
                let obits = q.out_type().bits as usize;
                let mut s = b.stage(
                    name.clone(),
                    Kind::InputQuant,
                    i,
                    vec![
                        ("LANES", Param::Int(b.fold as i64)),
                        ("CHANNELS", Param::Int(input.channels as i64)),
                        ("OBITS", Param::Int(obits as i64)),
                        ("THRESH_FILE", path(&file)),
                    ],
                );
                s.mem_files.push(("THRESH_FILE".into(), file));
                b.ebits = obits;
                s.out_width = b.fold * obits;
                s.out_beats = s.in_beats;
                b.push(s);
                b.fifo(i, &name);
            }
            Op::MaxPool => {
                let c = in_shape.channels;
                let out = model.output_shape(i);
                // Whole pixels per beat: an even count goes to the pixel-parallel pool as it is; an
                // odd count above one is doubled first (an up-conversion keeps the rate).
                let mut px = if b.fold.is_multiple_of(c) { b.fold / c } else { 0 };
                if px > 1 && px % 2 == 1 && in_shape.width.is_multiple_of(2 * px) {
                    b.convert_to(2 * c * px, i, &name);
                    px *= 2;
                }
                if px >= 2 && px % 2 == 0 && in_shape.width.is_multiple_of(px) {
                    // Several whole pixels per beat (behind a multi-window convolution).
                    let mut s = b.stage(
                        name.clone(),
                        Kind::MaxPoolPar,
                        i,
                        vec![
                            ("IFM_H", Param::Int(in_shape.height as i64)),
                            ("IFM_W", Param::Int(in_shape.width as i64)),
                            ("CHANNELS", Param::Int(c as i64)),
                            ("PIXELS", Param::Int(px as i64)),
                            ("EBITS", Param::Int(b.ebits as i64)),
                        ],
                    );
                    b.fold = c * px / 2;
                    b.elems = out.len() as u64;
                    s.out_width = b.fold * b.ebits;
                    s.out_beats = b.elems / b.fold as u64;
                    b.push(s);
                } else {
                    if !c.is_multiple_of(b.fold) {
                        b.convert_to(gcd(b.fold, c), i, &name);
                    }
                    let mut s = b.stage(
                        name.clone(),
                        Kind::MaxPool,
                        i,
                        vec![
                            ("IFM_H", Param::Int(in_shape.height as i64)),
                            ("IFM_W", Param::Int(in_shape.width as i64)),
                            ("CHANNELS", Param::Int(c as i64)),
                            ("PE", Param::Int(b.fold as i64)),
                            ("EBITS", Param::Int(b.ebits as i64)),
                        ],
                    );
                    b.elems = out.len() as u64;
                    s.out_width = s.in_width;
                    s.out_beats = b.elems / b.fold as u64;
                    b.push(s);
                }
                b.fifo(i, &name);
            }
            Op::Conv(_) | Op::Dense(_) => {
                let (mv, conv) = match &layer.op {
                    Op::Conv(c) => (c.matvec(), Some(c)),
                    Op::Dense(d) => (d.matvec(), None),
                    _ => unreachable!(),
                };
                let lf @ LayerFold { pe, simd, mmv } = folding.layers[i].expect("validated");
                if conv.is_none() {
                    b.hold_whole_vector();
                }
                let vectors = model.output_shape(i).pixels() as u64;
                if let Some(c) = conv {
                    let k = c.kernel();
                    let g = folding::ConvGeom { k, channels: in_shape.channels, ifm_h: in_shape.height, ifm_w: in_shape.width };
                    let geometry = [
                        ("K", Param::Int(k as i64)),
                        ("IFM_H", Param::Int(in_shape.height as i64)),
                        ("IFM_W", Param::Int(in_shape.width as i64)),
                        ("CHANNELS", Param::Int(in_shape.channels as i64)),
                    ];
                    match folding::window(g, lf) {
                        Window::Serial => {
                            b.convert_to(simd, i, &name);
                            let mut params = geometry.to_vec();
                            params.push(("SIMD", Param::Int(simd as i64)));
                            params.push(("EBITS", Param::Int(b.ebits as i64)));
                            let mut s = b.stage(format!("{name}_swg"), Kind::SlidingWindow, i, params);
                            b.elems = vectors * mv.cols() as u64;
                            s.out_width = s.in_width;
                            s.out_beats = b.elems / simd as u64;
                            b.push(s);
                        }
                        Window::Parallel => {
                            b.convert_to(in_shape.channels * mmv, i, &name);
                            let mut params = geometry.to_vec();
                            params.push(("PIXELS", Param::Int(mmv as i64)));
                            params.push(("EBITS", Param::Int(b.ebits as i64)));
                            let mut s = b.stage(format!("{name}_swg"), Kind::SlidingWindowPar, i, params);
                            b.elems = vectors * mv.cols() as u64;
                            b.fold = mmv * mv.cols();
                            s.out_width = b.fold * b.ebits;
                            s.out_beats = b.elems / b.fold as u64;
                            b.push(s);
                            // A SIMD narrower than the window takes it in several beats.
                            b.convert_to(simd * mmv, i, &name);
                        }
                    }
                } else {
                    b.convert_to(simd, i, &name);
                }
                let acc = mem::acc_bits(mv);
                let obits = mv.out_type().map_or(0, |t| t.bits as usize);
                let wfile = format!("{name}_weights.hex");
                b.memory(&wfile, || mem::weights_hex(mv, pe, simd));
                let shape = folding::mat_shape(model, i).expect("a matrix layer");
                let use_bram = estimate::weights_in_bram(shape, lf);
                let thresh_bram = estimate::thresholds_in_bram(shape, lf);
                let mut params = vec![
                    ("MW", Param::Int(mv.cols() as i64)),
                    ("MH", Param::Int(mv.rows() as i64)),
                    ("PE", Param::Int(pe as i64)),
                    ("SIMD", Param::Int(simd as i64)),
                    ("MMV", Param::Int(mmv as i64)),
                    ("WBITS", Param::Int(mv.weight_type().bits as i64)),
                    ("ABITS", Param::Int(mv.in_type().bits as i64)),
                    ("OBITS", Param::Int(obits as i64)),
                    ("ACC_BITS", Param::Int(acc as i64)),
                    ("USE_BRAM", Param::Int(use_bram as i64)),
                    ("THRESH_BRAM", Param::Int(thresh_bram as i64)),
                    ("WEIGHT_FILE", path(&wfile)),
                ];
                let mut files = vec![("WEIGHT_FILE".to_string(), wfile)];
                match mv.output() {
                    OutputStage::Threshold(t) => {
                        let base = format!("{name}_thresholds");
                        if b.memories.is_some() {
                            for (f, text) in mem::threshold_images(mv, t, pe, &base) {
                                b.memory(&f, || text);
                            }
                        }
                        let f = mem::threshold_param(obits, &base);
                        params.push(("THRESH_FILE", path(&f)));
                        files.push(("THRESH_FILE".into(), f));
                    }
                    OutputStage::Bias(bias) => {
                        let f = format!("{name}_bias.hex");
                        b.memory(&f, || mem::bias_hex(mv, bias, pe));
                        params.push(("BIAS_FILE", path(&f)));
                        files.push(("BIAS_FILE".into(), f));
                    }
                }
                let mut s = b.stage(format!("{name}_mvtu"), Kind::Mvtu, i, params);
                s.mem_files = files;
                s.cycles = (mv.rows() / pe) as u64 * (mv.cols() / simd) as u64 * vectors.div_ceil(mmv as u64);
                b.fold = pe * mmv;
                b.ebits = if obits == 0 { acc } else { obits };
                b.elems = vectors * mv.rows() as u64;
                s.out_width = b.fold * b.ebits;
                s.out_beats = b.elems / b.fold as u64;
                b.push(s);
                if i + 1 < n {
                    b.fifo(i, &name);
                } else {
                    let classes = mv.rows();
                    let mut s = b.stage(
                        "label".into(),
                        Kind::LabelSelect,
                        i,
                        vec![
                            ("NUM_CLASSES", Param::Int(classes as i64)),
                            ("PE", Param::Int(pe as i64)),
                            ("ACC_BITS", Param::Int(acc as i64)),
                        ],
                    );
                    s.out_width = 8 + 32 * classes;
                    s.out_beats = 1;
                    b.push(s);
                }
            }
        }
    }
    let in_width = folding.in_pixels * 8;
    let out_width = b.stages.last().map_or(0, |s| s.out_width);
    Ok(Plan { stages: b.stages, memories: b.memories.unwrap_or_default(), in_width, out_width })
}

/// A layer name as part of a SystemVerilog identifier (the `l<index>_` prefix keeps them unique).
pub fn sanitize(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect()
}
