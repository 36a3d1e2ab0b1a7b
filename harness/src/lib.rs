//! The harness: RTL generation from model files, and (growing) reports, sweeps and the CI gate.

pub mod accel;
pub mod cosim;
pub mod curve;
pub mod fifos;
pub mod gate;
pub mod lint;
pub mod mutate;
pub mod paths;
pub mod report;
pub mod rtlcheck;
pub mod sweep;
pub mod synth;
pub mod verify;
