//! Loads every split of a tree and prints counts, patients, content hash and load time:
//! `cargo run --release -p dataset --example load_splits -- [ROOT] [SIZE]`.

use dataset::{DEFAULT_SIZE, Dataset, Split, default_root};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let root = args.next().map(PathBuf::from).unwrap_or_else(default_root);
    let size = match args.next().map(|s| s.parse::<usize>()) {
        None => DEFAULT_SIZE,
        Some(Ok(n)) => n,
        Some(Err(e)) => {
            eprintln!("error: SIZE must be a positive integer: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("root {} size {size}", root.display());
    for split in Split::ALL {
        let start = Instant::now();
        match Dataset::load(&root, split, size) {
            Ok(d) => {
                let [normal, pneumonia] = d.class_counts();
                println!(
                    "{:<13} {:>5} images ({normal} NORMAL, {pneumonia} PNEUMONIA), {:>4} patients, {:.3} s, hash {}",
                    split.name(),
                    d.len(),
                    d.patients().len(),
                    start.elapsed().as_secs_f64(),
                    &d.content_hash()[..16],
                );
            }
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}
