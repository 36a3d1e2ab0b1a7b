//! QONNX and FINN-ONNX models into the golden model.
//!
//! [`import::import_file`] reads an ONNX file (protobuf, decoded with `prost`; the code generated from
//! `proto/onnx.proto` is committed in `src/pb/onnx.rs`, so no `protoc` is needed), folds its constant
//! subgraphs, and streamlines the chain of layers into the golden model's integer ops: weights as
//! integers, batch norm, scales, biases and activation quantizers as multi-thresholds, the last layer
//! as integer logits times one output scale. See `import.rs` for the method and `steps.rs` for the
//! op semantics (those of the `qonnx` package's executor).

#[allow(clippy::all, missing_docs, rustdoc::all)]
pub mod pb {
    include!("pb/onnx.rs");
}

pub mod export;
pub mod import;
pub mod npy;
pub mod steps;
pub mod tensor;
pub mod vectors;

pub use export::export;
pub use import::{ImportError, Imported, NearTie, Options, import_bytes, import_file};
