//! Verilator `--lint-only -Wall` is clean for every library module at its test parameter sets and for
//! the default model's generated tops (core, simulation wrapper, per-layer tops).

use harness::{accel, lint, paths};

fn check(targets: Vec<lint::Target>) {
    let failures: Vec<String> = targets
        .iter()
        .filter_map(|t| match lint::lint(t).expect("Verilator runs") {
            Ok(()) => None,
            Err(msg) => Some(format!("{}:\n{msg}", t.name)),
        })
        .collect();
    assert!(failures.is_empty(), "lint warnings:\n{}", failures.join("\n"));
}

#[test]
fn library_is_lint_clean() {
    check(lint::library_targets());
}

#[test]
fn default_model_accelerator_is_lint_clean() {
    let model = paths::load_model(None).expect("the default model is committed");
    let folding = rtlgen::Folding::auto(&model, None, rtlgen::Limits::default()).unwrap();
    let acc = accel::prepare(&model, &folding).unwrap();
    check(lint::accelerator_targets(&acc));
}
