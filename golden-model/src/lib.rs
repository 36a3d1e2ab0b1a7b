//! Golden model: computes, bit for bit, what the streaming accelerator computes.
//!
//! The numeric contract (value encodings, threshold semantics, op definitions, memory layouts) is in
//! `docs/architecture.md`.

pub mod error;
pub mod fast;
pub mod file;
pub mod io;
pub mod metrics;
pub mod model;
pub mod ops;
pub mod value;
#[cfg(feature = "testing")]
pub mod testing;

pub use error::ModelError;
pub use model::{Inference, Layer, Model, Op, Provenance, argmax};
pub use ops::{FeatureMap, Shape};
pub use fast::Level;
pub use value::{ActType, WeightType};
