//! What a configuration must do with a case: its input beats and, from the golden model, the
//! exact output stream (every field of every beat).

use super::case::{Case, Data, MvOutput, MvtuData};
use super::config::{Config, Dut, Label, Mvtu, Network, Pool, PoolPar, Quant, Window, WindowPar};
use crate::cosim::pack;
use anyhow::{Result, bail, ensure};
use golden_model::ops::{Conv, FeatureMap, InputQuant, MatVec, MaxPool, MultiThreshold, OutputStage};
use golden_model::{ActType, Model, WeightType};
use ndarray::Array2;

/// The stimulus and the golden response of one case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stream {
    /// Input beats as flat 32-bit words.
    pub inputs: Vec<u32>,
    pub in_beats: usize,
    /// Bit widths of the fields of an output beat, LSB first.
    pub fields: Vec<usize>,
    /// Expected fields of every output beat.
    pub beats: Vec<Vec<u64>>,
    /// Number of output beats per vector / image / group (for beat descriptions), 0 if flat.
    pub beats_per_item: usize,
}

impl Stream {
    fn elements(inputs: Vec<u32>, in_beats: usize, expected: &[u64], ebits: usize, fold: usize, per_item: usize) -> Stream {
        Stream {
            inputs,
            in_beats,
            fields: vec![ebits; fold],
            beats: expected.chunks(fold).map(|c| c.to_vec()).collect(),
            beats_per_item: per_item,
        }
    }
}

pub fn mask(bits: usize) -> u64 {
    if bits >= 64 { u64::MAX } else { (1u64 << bits) - 1 }
}

/// The case's stream, or an error naming what in the case does not fit the configuration.
pub fn stream(config: &Config, case: &Case) -> Result<Stream> {
    match (&config.dut, &case.data) {
        (Dut::Mvtu(m), Data::Mvtu(d)) => mvtu(m, d).map(|(_, s)| s),
        (Dut::SlidingWindow(w), Data::SlidingWindow { images }) => window(w, images),
        (Dut::SlidingWindowPar(w), Data::SlidingWindow { images }) => window_par(w, images),
        (Dut::Maxpool(p), Data::Maxpool { images }) => maxpool(p, images),
        (Dut::MaxpoolPar(p), Data::Maxpool { images }) => maxpool_par(p, images),
        (Dut::InputQuant(q), Data::InputQuant { thresholds, pixels }) => input_quant(q, thresholds, pixels).map(|(_, s)| s),
        (Dut::StreamFifo(f), Data::StreamFifo { beats }) => {
            let words = f.width.div_ceil(32);
            let mut inputs = Vec::with_capacity(beats.len() * words);
            for (i, b) in beats.iter().enumerate() {
                ensure!(b.len() == words, "beat {i} has {} words, WIDTH {} needs {words}", b.len(), f.width);
                ensure!(
                    f.width % 32 == 0 || b[words - 1] >> (f.width % 32) == 0,
                    "beat {i} has bits above WIDTH {}",
                    f.width
                );
                inputs.extend_from_slice(b);
            }
            let fields: Vec<usize> = (0..words).map(|w| (f.width - 32 * w).min(32)).collect();
            let beats_out = beats.iter().map(|b| b.iter().map(|&w| w as u64).collect()).collect();
            Ok(Stream { inputs, in_beats: beats.len(), fields, beats: beats_out, beats_per_item: 0 })
        }
        (Dut::StreamWidthConverter(d), Data::StreamWidthConverter { elements }) => {
            ensure!(
                !elements.is_empty() && elements.len() % d.unit() == 0,
                "{} elements: must be a positive multiple of {} (whole beats on both sides)",
                elements.len(),
                d.unit()
            );
            if let Some((i, e)) = elements.iter().enumerate().find(|(_, e)| **e as u64 > mask(d.ebits)) {
                bail!("element {i} = {e} does not fit EBITS {}", d.ebits);
            }
            let inputs = pack(elements, d.ebits, d.in_elems);
            let expected: Vec<u64> = elements.iter().map(|&e| e as u64).collect();
            Ok(Stream::elements(inputs, elements.len() / d.in_elems, &expected, d.ebits, d.out_elems, 0))
        }
        (Dut::LabelSelect(l), Data::LabelSelect { logits }) => label_select(l, logits),
        (Dut::Network(n), Data::Network { model, images }) => network(n, &model_of(model)?, images),
        _ => bail!("case data is for another module than configuration {} ({})", config.name, config.module()),
    }
}

/// The golden matrix-vector op of an MVTU case, checked against the configuration.
pub fn matvec(m: &Mvtu, d: &MvtuData) -> Result<MatVec> {
    ensure!(d.weights.len() == m.mh, "{} weight rows, MH = {}", d.weights.len(), m.mh);
    if let Some((r, row)) = d.weights.iter().enumerate().find(|(_, r)| r.len() != m.mw) {
        bail!("weight row {r} has {} columns, MW = {}", row.len(), m.mw);
    }
    let w = Array2::from_shape_vec((m.mh, m.mw), d.weights.concat())?;
    let output = match (&d.output, m.obits) {
        (MvOutput::Thresholds(t), o) if o > 0 => {
            let out = ActType { bits: o };
            let nt = out.num_thresholds();
            ensure!(t.len() == m.mh && t.iter().all(|r| r.len() == nt), "thresholds must be {} rows of {nt}", m.mh);
            let t = Array2::from_shape_vec((m.mh, nt), t.concat())?;
            OutputStage::Threshold(MultiThreshold::new(out, t).map_err(anyhow::Error::msg)?)
        }
        (MvOutput::Bias(b), 0) => {
            ensure!(b.len() == m.mh, "{} biases, MH = {}", b.len(), m.mh);
            OutputStage::Bias(b.clone())
        }
        _ => bail!("OBITS = {} needs {}", m.obits, if m.obits == 0 { "biases" } else { "thresholds" }),
    };
    let mv = MatVec::new(m.in_type(), m.weight_type(), w, output).map_err(anyhow::Error::msg)?;
    let acc = rtlgen::mem::acc_bits(&mv);
    ensure!(
        acc == m.acc_bits(),
        "the generator would give this case ACC_BITS = {acc}, the configuration is built with {} \
         (a logit case's largest |bias| must lie in the configuration's bias range)",
        m.acc_bits()
    );
    Ok(mv)
}

pub fn mvtu(m: &Mvtu, d: &MvtuData) -> Result<(MatVec, Stream)> {
    let mv = matvec(m, d)?;
    let a = m.in_type();
    let n = d.vectors.len();
    ensure!(n.is_multiple_of(m.mmv), "{n} vectors: MMV = {} takes them in whole groups", m.mmv);
    let mut ys = Vec::with_capacity(n);
    for (i, x) in d.vectors.iter().enumerate() {
        ensure!(x.len() == m.mw, "vector {i} has {} values, MW = {}", x.len(), m.mw);
        if let Some((j, v)) = x.iter().enumerate().find(|(_, v)| !a.contains(**v)) {
            bail!("vector {i}[{j}] = {v} is not a {}-bit activation", a.bits);
        }
        ys.push(mv.eval_reference(x));
    }
    // A group's beat sf holds columns sf*SIMD.. of each of its MMV vectors side by side, its
    // output beat nf rows nf*PE.. of each.
    let mut elems = Vec::with_capacity(n * m.mw);
    let mut expected = Vec::with_capacity(n * m.mh);
    for g in (0..n).step_by(m.mmv) {
        for sf in 0..m.sf() {
            for x in &d.vectors[g..g + m.mmv] {
                elems.extend(x[sf * m.simd..(sf + 1) * m.simd].iter().map(|&v| a.encode(v)));
            }
        }
        for nf in 0..m.nf() {
            for y in &ys[g..g + m.mmv] {
                expected.extend(y[nf * m.pe..(nf + 1) * m.pe].iter().map(|&y| match m.out_type() {
                    Some(t) => t.encode(y) as u64,
                    None => y as i64 as u64 & mask(m.acc_bits()),
                }));
            }
        }
    }
    let inputs = pack(&elems, a.bits as usize, m.simd * m.mmv);
    let s = Stream::elements(inputs, n / m.mmv * m.sf(), &expected, m.out_ebits(), m.pe * m.mmv, m.nf());
    Ok((mv, s))
}

fn feature_map(t: ActType, (h, w, c): (usize, usize, usize), values: &[i32], what: &str) -> Result<FeatureMap> {
    ensure!(values.len() == h * w * c, "{what} has {} values, {h}x{w}x{c} needs {}", values.len(), h * w * c);
    if let Some((i, v)) = values.iter().enumerate().find(|(_, v)| !t.contains(**v)) {
        bail!("{what}[{i}] = {v} is not a {}-bit activation", t.bits);
    }
    Ok(FeatureMap::from_shape_vec((h, w, c), values.to_vec())?)
}

/// The golden conv with identity weights and identity 8-bit thresholds: its output channels are
/// the window's elements in the model's column order, `(ky, kx, channel)`.
fn window_conv(w: &Window) -> Result<Conv> {
    let cols = w.k * w.k * w.channels;
    let ident = Array2::from_shape_fn((cols, cols), |(r, c)| (r == c) as i8);
    let levels = Array2::from_shape_fn((cols, 255), |(_, t)| t as i32 + 1);
    let t = MultiThreshold::new(ActType { bits: 8 }, levels).map_err(anyhow::Error::msg)?;
    let mv = MatVec::new(ActType { bits: w.ebits }, WeightType { bits: 8 }, ident, OutputStage::Threshold(t))
        .map_err(anyhow::Error::msg)?;
    Conv::new(w.k, w.channels, mv).map_err(anyhow::Error::msg)
}

/// Input elements and the windows' elements (output pixels in raster order, each window in
/// `(ky, kx, channel)` order) of a generator's images.
fn window_elements(w: &Window, images: &[Vec<i32>]) -> Result<(Vec<u32>, Vec<u64>)> {
    let t = ActType { bits: w.ebits };
    let conv = window_conv(w)?;
    let (mut elems, mut expected) = (vec![], vec![]);
    for (i, img) in images.iter().enumerate() {
        let x = feature_map(t, (w.ifm_h, w.ifm_w, w.channels), img, &format!("image {i}"))?;
        elems.extend(img.iter().map(|&v| t.encode(v)));
        // Levels of the identity conv are the encodings: 0/1 for bipolar, the value otherwise.
        expected.extend(conv.eval_reference(&x).iter().map(|&v| v as u64));
    }
    Ok((elems, expected))
}

fn window(w: &Window, images: &[Vec<i32>]) -> Result<Stream> {
    let (elems, expected) = window_elements(w, images)?;
    let e = w.ebits as usize;
    let inputs = pack(&elems, e, w.simd);
    Ok(Stream::elements(inputs, images.len() * w.in_beats(), &expected, e, w.simd, w.out_beats()))
}

/// The same windows as the serial generator's with SIMD = CHANNELS, PIXELS of them per beat.
fn window_par(w: &WindowPar, images: &[Vec<i32>]) -> Result<Stream> {
    let serial = Window { k: w.k, ifm_h: w.ifm_h, ifm_w: w.ifm_w, channels: w.channels, simd: w.channels, ebits: w.ebits };
    let (elems, expected) = window_elements(&serial, images)?;
    let e = w.ebits as usize;
    let inputs = pack(&elems, e, w.pixels * w.channels);
    Ok(Stream::elements(inputs, images.len() * w.in_beats(), &expected, e, w.out_elems(), w.out_beats()))
}

/// Input elements and pooled elements (raster order, HWC) of a pool's images.
fn pool_elements(ebits: u8, (h, w, c): (usize, usize, usize), images: &[Vec<i32>]) -> Result<(Vec<u32>, Vec<u64>)> {
    let t = ActType { bits: ebits };
    let (mut elems, mut expected) = (vec![], vec![]);
    for (i, img) in images.iter().enumerate() {
        let x = feature_map(t, (h, w, c), img, &format!("image {i}"))?;
        elems.extend(img.iter().map(|&v| t.encode(v)));
        expected.extend(MaxPool::eval_reference(&x).iter().map(|&v| t.encode(v) as u64));
    }
    Ok((elems, expected))
}

fn maxpool(p: &Pool, images: &[Vec<i32>]) -> Result<Stream> {
    let (elems, expected) = pool_elements(p.ebits, (p.ifm_h, p.ifm_w, p.channels), images)?;
    let e = p.ebits as usize;
    let inputs = pack(&elems, e, p.pe);
    Ok(Stream::elements(inputs, images.len() * p.in_beats(), &expected, e, p.pe, p.out_beats()))
}

fn maxpool_par(p: &PoolPar, images: &[Vec<i32>]) -> Result<Stream> {
    let (elems, expected) = pool_elements(p.ebits, (p.ifm_h, p.ifm_w, p.channels), images)?;
    let e = p.ebits as usize;
    let inputs = pack(&elems, e, p.pixels * p.channels);
    let out = p.pixels / 2 * p.channels;
    Ok(Stream::elements(inputs, images.len() * p.in_beats(), &expected, e, out, p.out_beats()))
}

pub fn input_quant(q: &Quant, thresholds: &[Vec<i32>], pixels: &[u8]) -> Result<(MultiThreshold, Stream)> {
    let out = q.out_type();
    let nt = out.num_thresholds();
    ensure!(
        thresholds.len() == q.channels && thresholds.iter().all(|r| r.len() == nt),
        "thresholds must be {} rows of {nt}",
        q.channels
    );
    ensure!(!pixels.is_empty() && pixels.len().is_multiple_of(q.lanes), "{} pixels: a positive multiple of LANES {}", pixels.len(), q.lanes);
    let t = MultiThreshold::new(out, Array2::from_shape_vec((q.channels, nt), thresholds.concat())?)
        .map_err(anyhow::Error::msg)?;
    let x = FeatureMap::from_shape_vec((1, pixels.len() / q.channels, q.channels), pixels.iter().map(|&p| p as i32).collect())?;
    let y = InputQuant::new(t.clone()).eval_reference(&x);
    let expected: Vec<u64> = y.iter().map(|&v| out.encode(v) as u64).collect();
    let elems: Vec<u32> = pixels.iter().map(|&p| p as u32).collect();
    let inputs = pack(&elems, 8, q.lanes);
    let s = Stream::elements(inputs, pixels.len() / q.lanes, &expected, q.obits as usize, q.lanes, 0);
    Ok((t, s))
}

/// Label unit fields: `[7:0]` label, then one 32-bit sign-extended logit per class.
pub fn label_fields(classes: usize) -> Vec<usize> {
    std::iter::once(8).chain(std::iter::repeat_n(32, classes)).collect()
}

pub fn label_beat(logits: &[i32]) -> Vec<u64> {
    let label = golden_model::argmax(logits) as u64;
    std::iter::once(label).chain(logits.iter().map(|&l| l as u32 as u64)).collect()
}

fn label_select(l: &Label, logits: &[Vec<i32>]) -> Result<Stream> {
    let (lo, hi) = (-(1i64 << (l.acc_bits - 1)), (1i64 << (l.acc_bits - 1)) - 1);
    let mut elems = vec![];
    for (i, v) in logits.iter().enumerate() {
        ensure!(v.len() == l.classes, "image {i} has {} logits, NUM_CLASSES = {}", v.len(), l.classes);
        if let Some(x) = v.iter().find(|&&x| (x as i64) < lo || x as i64 > hi) {
            bail!("image {i}: logit {x} does not fit ACC_BITS {}", l.acc_bits);
        }
        elems.extend(v.iter().map(|&x| (x as i64 as u64 & mask(l.acc_bits)) as u32));
    }
    let inputs = pack(&elems, l.acc_bits, l.pe);
    Ok(Stream {
        inputs,
        in_beats: logits.len() * l.classes / l.pe,
        fields: label_fields(l.classes),
        beats: logits.iter().map(|v| label_beat(v)).collect(),
        beats_per_item: 1,
    })
}

pub fn model_of(doc: &serde_json::Value) -> Result<Model> {
    Model::from_json(&doc.to_string()).map_err(|e| anyhow::anyhow!("the case's model: {e}"))
}

fn network(n: &Network, model: &Model, images: &[Vec<u8>]) -> Result<Stream> {
    ensure!(model.input_shape() == n.input, "the case's model takes {} inputs, the configuration {}", model.input_shape(), n.input);
    ensure!(
        model.layers().len() == n.layers.len() + 1,
        "the case's model has {} layers, the configuration {}",
        model.layers().len(),
        n.layers.len() + 1
    );
    let mut elems = vec![];
    let mut beats = vec![];
    for (i, img) in images.iter().enumerate() {
        ensure!(img.len() == n.input.len(), "image {i} has {} pixels, the model takes {}", img.len(), n.input.len());
        elems.extend(img.iter().map(|&p| p as u32));
        beats.push(label_beat(&model.infer_reference(img)?.logits));
    }
    let inputs = pack(&elems, 8, n.folding.in_pixels);
    Ok(Stream {
        inputs,
        in_beats: images.len() * n.input.len() / n.folding.in_pixels,
        fields: label_fields(model.classes().len()),
        beats,
        beats_per_item: 1,
    })
}

/// Where output beat `i` sits in the case: vector and fold, image and window position, ...
pub fn beat_context(config: &Config, i: usize) -> String {
    match &config.dut {
        Dut::Mvtu(m) => {
            let (g, nf) = (i / m.nf(), i % m.nf());
            let rows = format!("output fold {nf} (rows {}..{})", nf * m.pe, (nf + 1) * m.pe);
            if m.mmv == 1 { format!("vector {g}, {rows}") } else { format!("vectors {}..{}, {rows}", g * m.mmv, (g + 1) * m.mmv) }
        }
        Dut::SlidingWindowPar(w) => {
            let per = w.out_beats();
            let (img, j) = (i / per, i % per);
            let (_, ow) = w.ofm();
            let px = j * w.pixels;
            format!("image {img}, output pixels (y {}, x {}..{})", px / ow, px % ow, px % ow + w.pixels)
        }
        Dut::MaxpoolPar(p) => {
            let per = p.out_beats();
            let (img, j) = (i / per, i % per);
            let (ow, n) = (p.ifm_w / 2, p.pixels / 2);
            let px = j * n;
            format!("image {img}, output pixels (y {}, x {}..{})", px / ow, px % ow, px % ow + n)
        }
        Dut::SlidingWindow(w) => {
            let per = w.out_beats();
            let (img, j) = (i / per, i % per);
            let win = w.k * w.k * w.cf();
            let (px, r) = (j / win, j % win);
            let (_, ow) = w.ofm();
            format!(
                "image {img}, output pixel (y {}, x {}), window ky {} kx {} channel group {}",
                px / ow,
                px % ow,
                r / (w.k * w.cf()),
                (r / w.cf()) % w.k,
                r % w.cf()
            )
        }
        Dut::Maxpool(p) => {
            let per = p.out_beats();
            let (img, j) = (i / per, i % per);
            let ow = p.ifm_w / 2;
            let px = j / p.cf();
            format!("image {img}, output pixel (y {}, x {}), channel group {}", px / ow, px % ow, j % p.cf())
        }
        Dut::InputQuant(q) => format!("pixels {}..{}", i * q.lanes, (i + 1) * q.lanes),
        Dut::StreamFifo(_) => format!("beat {i} of the stream"),
        Dut::StreamWidthConverter(d) => format!("elements {}..{}", i * d.out_elems, (i + 1) * d.out_elems),
        Dut::LabelSelect(_) | Dut::Network(_) => format!("image {i}"),
    }
}
