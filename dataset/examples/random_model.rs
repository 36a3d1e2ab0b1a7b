//! Writes a random w1a1 model for the 64x64 data, to try `cargo xtask eval` before a trained model
//! exists: `cargo run -p dataset --example random_model -- OUT.qnn.json [SEED]`.

#[path = "../tests/common/random_model.rs"]
mod random_model;

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(out) = args.next() else {
        eprintln!("usage: random_model OUT.qnn.json [SEED]");
        return ExitCode::FAILURE;
    };
    let seed = match args.next().map(|s| s.parse::<u64>()) {
        None => 1,
        Some(Ok(s)) => s,
        Some(Err(e)) => {
            eprintln!("error: SEED must be a non-negative integer: {e}");
            return ExitCode::FAILURE;
        }
    };
    let model = random_model::random_model(dataset::DEFAULT_SIZE, seed);
    if let Err(e) = model.save(&out) {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    println!("wrote {out} ({})", model.name());
    ExitCode::SUCCESS
}
