//! Reports of one model's accelerator: accuracy (golden and RTL), latency, resources, provenance.

pub mod build;
pub mod plots;
pub mod provenance;
pub mod render;
pub mod schema;

pub use build::{BuildOptions, build};
pub use schema::*;
