use harness::cosim;
fn main() -> anyhow::Result<()> {
    let a: Vec<String> = std::env::args().collect();
    let model = golden_model::Model::load(&a[1])?;
    let folding = rtlgen::Folding::auto(&model, None, Default::default()).unwrap();
    let acc = harness::accel::prepare(&model, &folding)?;
    let test = dataset::Dataset::load(&dataset::default_root(), dataset::Split::Test, 64)?;
    let images: Vec<&[u8]> = test.samples[..3].iter().map(|s| s.pixels.as_slice()).collect();
    for t in &acc.layer_tops {
        let lib = cosim::layer_library(&acc, t, cosim::BuildMode::FAST)?;
        let st = std::time::Instant::now();
        let r = cosim::run_layer(&acc, &model, t, &lib, &images, 1)?;
        let dt = st.elapsed().as_secs_f64();
        let ok = r.outputs == r.expected;
        println!("{:<8} cycles/img {:?} est {} ok {} time {:.2}s", t.name, r.cycles_per_image, acc.layers[t.layer].cycles, ok, dt);
    }
    Ok(())
}
