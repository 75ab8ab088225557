//! The query adapter: a small learned map from a question's vector to where the code that
//! answers it lies.
//!
//! The model maps code and questions into one space but was taught on sentence pairs, not
//! on code; the adapter was fitted (`tools/query-adapter/`) on doc comments and the
//! definitions they document, with the comment removed from the code, so it moves a
//! question towards code that does what the question says. It is applied to query vectors
//! only: stored vectors stay as they are and nothing is re-embedded when it changes.
//!
//! The map is a residual one, `normalize(q + W q + b)`: a zero `W` and `b` is the identity,
//! and training keeps it close to that (weight decay), so questions unlike doc comments
//! (a bare identifier) move little.
//!
//! File format (little-endian): the 8 bytes `FERRETQA`, `u32` format version (1), `u32`
//! dimensions `d`, then `d * d` `f32` of `W` row by row (row `i` gives output `i`), then `d`
//! `f32` of `b`.

use std::path::Path;

use crate::models::ModelSpec;
use crate::{Error, Result};

const MAGIC: &[u8; 8] = b"FERRETQA";
const FORMAT_VERSION: u32 = 1;

/// A loaded adapter (see the module documentation).
#[derive(Debug, Clone, PartialEq)]
pub struct QueryAdapter {
    dims: usize,
    /// `dims x dims`, row-major.
    weights: Vec<f32>,
    bias: Vec<f32>,
}

impl QueryAdapter {
    /// An adapter of `dims` dimensions; `weights` is `W` row by row.
    pub fn new(dims: usize, weights: Vec<f32>, bias: Vec<f32>) -> Result<Self> {
        if dims == 0 || weights.len() != dims * dims || bias.len() != dims {
            return Err(Error::Model(format!(
                "a query adapter of {dims} dimensions needs {} weights and {dims} biases, not \
                 {} and {}",
                dims * dims,
                weights.len(),
                bias.len()
            )));
        }
        Ok(QueryAdapter {
            dims,
            weights,
            bias,
        })
    }

    /// Reads the adapter file at `path` for a model of `dims` dimensions; the error names
    /// the file and says what is wrong with it.
    pub fn read(path: &Path, dims: usize) -> Result<Self> {
        let bytes = std::fs::read(path)
            .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
        Self::parse(&bytes, dims).map_err(|why| {
            Error::Model(format!(
                "{} is not a query adapter for this model ({why}): delete it and run \
                 scripts/setup.sh again",
                path.display()
            ))
        })
    }

    fn parse(bytes: &[u8], dims: usize) -> std::result::Result<Self, String> {
        let header = MAGIC.len() + 8;
        if bytes.len() < header || &bytes[..MAGIC.len()] != MAGIC {
            return Err("it does not start with FERRETQA".into());
        }
        let word = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
        let version = word(MAGIC.len());
        if version != FORMAT_VERSION {
            return Err(format!(
                "format version {version}, this build reads {FORMAT_VERSION}"
            ));
        }
        let file_dims = word(MAGIC.len() + 4) as usize;
        if file_dims != dims {
            return Err(format!("{file_dims} dimensions, the model has {dims}"));
        }
        let floats = dims * dims + dims;
        if bytes.len() != header + 4 * floats {
            return Err(format!(
                "{} bytes, expected {}",
                bytes.len(),
                header + 4 * floats
            ));
        }
        let mut values: Vec<f32> = bytes[header..]
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect();
        if values.iter().any(|v| !v.is_finite()) {
            return Err("it holds a value that is not a finite number".into());
        }
        let bias = values.split_off(dims * dims);
        Ok(QueryAdapter {
            dims,
            weights: values,
            bias,
        })
    }

    /// The file's bytes (see the module documentation).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(MAGIC.len() + 8 + 4 * (self.weights.len() + self.dims));
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&(self.dims as u32).to_le_bytes());
        for v in self.weights.iter().chain(&self.bias) {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out
    }

    pub fn dims(&self) -> usize {
        self.dims
    }

    /// `normalize(q + W q + b)`: the adapted query vector, of unit length like the model's.
    /// A vector of another length is returned unchanged (the caller's dimension check
    /// reports it).
    pub fn apply(&self, query: &[f32]) -> Vec<f32> {
        if query.len() != self.dims {
            return query.to_vec();
        }
        let mut out: Vec<f32> = self
            .weights
            .chunks_exact(self.dims)
            .zip(&self.bias)
            .zip(query)
            .map(|((row, b), q)| q + b + row.iter().zip(query).map(|(w, x)| w * x).sum::<f32>())
            .collect();
        let norm = out.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm > 1e-12 {
            out.iter_mut().for_each(|x| *x /= norm);
        }
        out
    }
}

/// The environment variable that replaces a version's query adapter: `off` searches with
/// the model's own query vectors, a path uses the adapter file there (to measure a
/// candidate before it is catalogued; it is read without a sha256 check, as it is numbers,
/// not code, and its format is checked).
pub const QUERY_ADAPTER_ENV: &str = "FERRET_QUERY_ADAPTER";

/// The adapter queries of `spec` go through: its catalogued one unless
/// [`QUERY_ADAPTER_ENV`] says otherwise. The catalogued file's sha256 was checked with the
/// model's files.
pub(super) fn load(
    model_dir: &Path,
    spec: &ModelSpec,
    dims: usize,
) -> Result<Option<QueryAdapter>> {
    match std::env::var_os(QUERY_ADAPTER_ENV).filter(|v| !v.is_empty()) {
        Some(v) if v == "off" => {
            log::info!("{QUERY_ADAPTER_ENV}=off: queries use the model's own vectors");
            Ok(None)
        }
        Some(path) => {
            let replaced = if spec.query_adapter.is_some() {
                format!("{}'s adapter", spec.id)
            } else {
                format!("the model's own vectors ({} has no adapter)", spec.id)
            };
            log::warn!(
                "{QUERY_ADAPTER_ENV}: queries go through {} instead of {replaced}",
                Path::new(&path).display()
            );
            QueryAdapter::read(Path::new(&path), dims).map(Some)
        }
        None => spec
            .query_adapter
            .map(|file| QueryAdapter::read(&model_dir.join(file.path), dims))
            .transpose(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(v: &[f32]) -> f32 {
        v.iter().map(|x| x * x).sum::<f32>().sqrt()
    }

    /// `normalize(q + W q + b)` on numbers worked by hand, and the identity for zero `W`, `b`.
    #[test]
    fn apply_is_the_normalised_residual_map() {
        // W = [[0, 1], [0, 0]], b = [0, 1]: q = (1, 0) -> (1, 0) + (0, 0) + (0, 1) = (1, 1).
        let adapter = QueryAdapter::new(2, vec![0.0, 1.0, 0.0, 0.0], vec![0.0, 1.0]).unwrap();
        let out = adapter.apply(&[1.0, 0.0]);
        let h = std::f32::consts::FRAC_1_SQRT_2;
        assert!(
            (out[0] - h).abs() < 1e-6 && (out[1] - h).abs() < 1e-6,
            "{out:?}"
        );
        // q = (0.6, 0.8) -> (0.6 + 0.8, 0.8 + 1) = (1.4, 1.8), normalised.
        let out = adapter.apply(&[0.6, 0.8]);
        let n = (1.4f32 * 1.4 + 1.8 * 1.8).sqrt();
        assert!((out[0] - 1.4 / n).abs() < 1e-6 && (out[1] - 1.8 / n).abs() < 1e-6);
        assert!((norm(&out) - 1.0).abs() < 1e-6);

        let identity = QueryAdapter::new(3, vec![0.0; 9], vec![0.0; 3]).unwrap();
        let q = [0.48, -0.6, 0.64];
        assert_eq!(identity.apply(&q), q);
        assert_eq!(
            identity.apply(&[1.0, 0.0]),
            [1.0, 0.0],
            "wrong length: unchanged"
        );
    }

    #[test]
    fn the_file_round_trips_and_a_bad_one_is_named() {
        let adapter = QueryAdapter::new(2, vec![0.5, -0.25, 0.125, 2.0], vec![1.0, -1.0]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("adapter.bin");
        std::fs::write(&path, adapter.to_bytes()).unwrap();
        assert_eq!(QueryAdapter::read(&path, 2).unwrap(), adapter);

        let err = QueryAdapter::read(&path, 384).unwrap_err().to_string();
        assert!(
            err.contains("adapter.bin") && err.contains("2 dimensions"),
            "{err}"
        );
        let mut truncated = adapter.to_bytes();
        truncated.pop();
        std::fs::write(&path, &truncated).unwrap();
        let err = QueryAdapter::read(&path, 2).unwrap_err().to_string();
        assert!(
            err.contains("adapter.bin") && err.contains("bytes"),
            "{err}"
        );
        std::fs::write(&path, b"not an adapter at all").unwrap();
        let err = QueryAdapter::read(&path, 2).unwrap_err().to_string();
        assert!(
            err.contains("FERRETQA") && err.contains("scripts/setup.sh"),
            "{err}"
        );
        assert!(QueryAdapter::new(2, vec![0.0; 3], vec![0.0; 2]).is_err());
    }
}
