//! Which layer of a stitched network is wrong: each layer's top alone, fed the golden model's
//! input of that layer, compared with the golden output of that layer.

use super::case::{Case, Data};
use super::config::Config;
use super::dut;
use super::expect::{self, Stream};
use super::run;
use super::sources::RtlSources;
use crate::cosim::{encode_map, layer_out_type, pack};
use anyhow::{Result, bail};

/// The report of the first layer whose own top disagrees with the golden model (same seed and
/// stalls as the case), or `None` when every layer alone is right.
pub fn first_bad_layer(config: &Config, sources: &RtlSources, case: &Case) -> Result<Option<String>> {
    let Data::Network { model, images } = &case.data else { bail!("not a network case") };
    let model = expect::model_of(model)?;
    let dir = run::work_dir(config, sources);
    let target = dut::prepare(config, sources, &dir, case)?;
    let Some(generated) = target.generated else { bail!("no generated network") };
    let traces: Vec<_> = images.iter().map(|img| model.trace(img)).collect::<Result<_, _>>()?;
    let last = model.layers().len() - 1;
    for lt in &generated.layers {
        let i = lt.layer;
        let mut elems = vec![];
        let mut beats = vec![];
        for (img, trace) in images.iter().zip(&traces) {
            if i == 0 {
                elems.extend(img.iter().map(|&p| p as u32));
            } else {
                elems.extend(encode_map(&trace[i - 1], layer_out_type(&model, i - 1)));
            }
            if i == last {
                let logits: Vec<i32> = trace[i].iter().copied().collect();
                beats.push(expect::label_beat(&logits));
            } else {
                let out = encode_map(&trace[i], layer_out_type(&model, i));
                beats.extend(out.chunks(lt.out_fold).map(|c| c.iter().map(|&v| v as u64).collect::<Vec<u64>>()));
            }
        }
        let fields = if i == last { expect::label_fields(model.classes().len()) } else { vec![lt.out_ebits; lt.out_fold] };
        let in_beats = elems.len() / lt.in_fold;
        let stream = Stream { inputs: pack(&elems, lt.in_ebits, lt.in_fold), in_beats, fields, beats, beats_per_item: 0 };
        let lib = run::library(&dut::layer_spec(sources, lt)?)?;
        let unit = format!("layer {i} `{}` ({})", lt.name, lt.module);
        let per_image = stream.beats.len() / images.len().max(1);
        if let Err(f) = run::simulate(&lib, &stream, case, vec![], None, &unit, |b| {
            format!("image {}, beat {} of the layer's output", b / per_image.max(1), b % per_image.max(1))
        })? {
            return Ok(Some(f.report()));
        }
    }
    Ok(None)
}
