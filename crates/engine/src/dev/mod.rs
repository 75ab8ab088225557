//! Development tools, compiled only with the `dev` feature (the `ferret` CLI turns it on
//! for `ferret bench` and `ferret eval`; the desktop app does not): [`bench`] measures
//! indexing and search speed against the raw model, [`eval`] measures relevance on a set
//! of questions with known answers.

pub mod bench;
pub mod eval;
