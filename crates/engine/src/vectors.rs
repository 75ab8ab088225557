//! The vector index: a usearch HNSW graph over the chunks' embeddings, one file per model.
//!
//! It is a *derived* cache (DESIGN.md section 3): SQLite holds every embedding, so this file
//! can be deleted, truncated or corrupted at any time and is rebuilt from SQLite without
//! re-embedding anything. Keys are chunk ids, so a hit maps straight back to a row. A chunk
//! longer than the model's window has one vector per window under the same key (a usearch
//! "multi" index); a search returns each key once, at its best window's similarity.
//!
//! Vectors are stored as `i8`: the model's unit vectors are scaled per vector so the largest
//! component is ±127. Cosine similarity ignores the scale, the index is 4x smaller than
//! `f32`, and on MiniLM the ranking is practically unchanged.
//!
//! Saving is atomic: the index is written to a temporary file, fsynced and renamed over the
//! old one; then a small sidecar (`<file>.json`) records which data generation of SQLite the
//! file reflects and how many vectors it holds. The sidecar is written last, so a crash in
//! between leaves a sidecar that no longer matches and the next writer rebuilds.
//!
//! The sidecar also records the file's format ([`VECTOR_FILE_FORMAT`]; a sidecar without
//! one is format 1). A file in any other format, such as one a newer Ferret wrote, is not
//! current: searches rebuild the index in memory from SQLite, and only an index run (which
//! has opened the database, so the profile is not from a newer Ferret: `meta.sqlite` refuses
//! that first) replaces it with a file in this build's format. Being a derived cache, it is
//! never migrated in place.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use usearch::{Index, IndexOptions, MetricKind, ScalarKind};

use crate::{Error, Result};

/// What the sidecar records about a saved index file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct VectorFileState {
    pub generation: i64,
    pub count: u64,
    pub dims: usize,
}

/// The format of the index files (and sidecars) this build writes and reads. 1: usearch
/// HNSW, cosine, `i8` vectors, chunk ids as keys (files written before multi-vector keys
/// hold one vector per key and read the same).
pub const VECTOR_FILE_FORMAT: u32 = 1;

/// `format` of a sidecar written before the field existed.
fn unversioned_sidecar() -> u32 {
    1
}

/// The sidecar file: the format, then the state.
#[derive(Debug, Serialize, Deserialize)]
struct Sidecar {
    #[serde(default = "unversioned_sidecar")]
    format: u32,
    #[serde(flatten)]
    state: VectorFileState,
}

/// How many nearest vectors a search looks at per key it returns: room for several windows
/// of one chunk among the nearest.
const WINDOW_FANOUT: usize = 3;

/// A usearch index plus where it lives.
pub struct VectorIndex {
    index: Index,
    path: PathBuf,
    dims: usize,
}

/// Scales a unit vector to `i8` so its largest component is ±127.
pub fn quantize(vector: &[f32]) -> Vec<i8> {
    let max = vector.iter().fold(0f32, |m, v| m.max(v.abs()));
    if max == 0.0 {
        return vec![0; vector.len()];
    }
    let scale = 127.0 / max;
    vector
        .iter()
        .map(|v| (v * scale).round().clamp(-127.0, 127.0) as i8)
        .collect()
}

/// Reinterprets stored bytes as `i8` components.
pub fn bytes_to_i8(bytes: &[u8]) -> Vec<i8> {
    bytes.iter().map(|&b| b as i8).collect()
}

/// Stores `i8` components as bytes (SQLite blobs).
pub fn i8_to_bytes(vector: &[i8]) -> Vec<u8> {
    vector.iter().map(|&v| v as u8).collect()
}

impl VectorIndex {
    /// An empty in-memory index for `dims`-dimensional vectors, to be saved at `path`.
    pub fn new(path: &Path, dims: usize) -> Result<Self> {
        let options = IndexOptions {
            dimensions: dims,
            metric: MetricKind::Cos,
            quantization: ScalarKind::I8,
            connectivity: 16,
            expansion_add: 128,
            expansion_search: 64,
            multi: true,
        };
        let index = usearch::new_index(&options).map_err(|e| Error::VectorIndex {
            path: path.to_path_buf(),
            message: format!("cannot create index: {e}"),
        })?;
        Ok(VectorIndex {
            index,
            path: path.to_path_buf(),
            dims,
        })
    }

    /// Loads the saved index if it exists, is readable and matches `expected` (generation and
    /// count from SQLite). Returns `Ok(None)` when it must be rebuilt, with the reason logged:
    /// missing, stale, truncated or corrupt files are all expected after a crash.
    /// `in_memory` loads the whole file (for writers); otherwise it is memory-mapped.
    pub fn open_if_current(
        path: &Path,
        dims: usize,
        expected: Option<VectorFileState>,
        in_memory: bool,
    ) -> Result<Option<Self>> {
        let Some(state) = read_state(path) else {
            return Ok(None);
        };
        if let Some(expected) = expected {
            if state != expected {
                log::info!(
                    "vector index {} is stale ({state:?} vs {expected:?}); rebuilding",
                    path.display()
                );
                return Ok(None);
            }
        }
        if state.dims != dims {
            return Ok(None);
        }
        let index = VectorIndex::new(path, dims)?;
        let path_str = path.to_string_lossy();
        let loaded = if in_memory {
            index.index.load(&path_str)
        } else {
            index.index.view(&path_str)
        };
        if let Err(e) = loaded {
            log::warn!(
                "vector index {} is unreadable ({e}); rebuilding",
                path.display()
            );
            return Ok(None);
        }
        if index.index.size() as u64 != state.count || index.index.dimensions() != dims {
            log::warn!(
                "vector index {} does not match its sidecar; rebuilding",
                path.display()
            );
            return Ok(None);
        }
        Ok(Some(index))
    }

    pub fn len(&self) -> usize {
        self.index.size()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn dims(&self) -> usize {
        self.dims
    }

    pub fn contains(&self, key: u64) -> bool {
        self.index.contains(key)
    }

    /// Makes room for `additional` more vectors (usearch needs capacity before `add`).
    pub fn reserve(&mut self, additional: usize) -> Result<()> {
        let needed = self.index.size() + additional;
        if needed > self.index.capacity() {
            let target = needed.max(self.index.capacity() * 2).max(1024);
            self.index
                .reserve(target)
                .map_err(|e| self.error("reserve", e))?;
        }
        Ok(())
    }

    /// Adds (or replaces) the vectors of chunk `key`: `vectors` is one or more
    /// `dims`-sized vectors end to end, one per window of the chunk.
    pub fn add(&mut self, key: u64, vectors: &[i8]) -> Result<()> {
        if vectors.is_empty() || !vectors.len().is_multiple_of(self.dims) {
            return Err(Error::VectorIndex {
                path: self.path.clone(),
                message: format!(
                    "vector data of {} values is not a whole number of {}-dim vectors",
                    vectors.len(),
                    self.dims
                ),
            });
        }
        if self.index.contains(key) {
            self.index
                .remove(key)
                .map_err(|e| self.error("remove", e))?;
        }
        let windows = vectors.len() / self.dims;
        self.reserve(windows)?;
        for window in vectors.chunks_exact(self.dims) {
            self.index
                .add(key, window)
                .map_err(|e| self.error("add", e))?;
        }
        Ok(())
    }

    pub fn remove(&mut self, key: u64) -> Result<()> {
        if self.index.contains(key) {
            self.index
                .remove(key)
                .map_err(|e| self.error("remove", e))?;
        }
        Ok(())
    }

    /// The `count` nearest chunk ids with their cosine similarity (1 = identical), keeping only
    /// keys `allow` accepts — filters apply before top-k, not after.
    pub fn search(
        &self,
        query: &[i8],
        count: usize,
        allow: Option<&dyn Fn(u64) -> bool>,
    ) -> Result<Vec<(u64, f32)>> {
        if self.index.size() == 0 || count == 0 {
            return Ok(Vec::new());
        }
        // Several windows of one chunk can be among the nearest: ask for more than `count`
        // and keep each key's first (best) one.
        let wanted = count.saturating_mul(WINDOW_FANOUT).min(self.index.size());
        let matches = match allow {
            Some(allow) => self.index.filtered_search(query, wanted, allow),
            None => self.index.search(query, wanted),
        }
        .map_err(|e| self.error("search", e))?;
        let mut seen = std::collections::HashSet::with_capacity(count);
        Ok(matches
            .keys
            .into_iter()
            .zip(matches.distances)
            .filter(|(key, _)| seen.insert(*key))
            .take(count)
            .map(|(key, distance)| (key, 1.0 - distance))
            .collect())
    }

    /// Writes the index atomically and records `generation` in the sidecar.
    pub fn save(&self, generation: i64) -> Result<()> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
        let tmp = self.path.with_extension("usearch.tmp");
        if let Err(e) = self.index.save(&tmp.to_string_lossy()) {
            // usearch reports a failed write as text; errno still says why.
            let os = std::io::Error::last_os_error();
            let _ = std::fs::remove_file(&tmp);
            if crate::error::is_disk_full(&os) || e.what().contains("No space left") {
                return Err(Error::DiskFull {
                    what: format!("cannot write {}", tmp.display()),
                    source: Some(Box::new(os)),
                });
            }
            return Err(self.error("save", e));
        }
        if let Err(e) = sync_file(&tmp) {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        std::fs::rename(&tmp, &self.path)
            .map_err(|e| Error::io(format!("cannot replace {}", self.path.display()), e))?;
        let sidecar = Sidecar {
            format: VECTOR_FILE_FORMAT,
            state: VectorFileState {
                generation,
                count: self.index.size() as u64,
                dims: self.dims,
            },
        };
        let json = serde_json::to_vec(&sidecar).expect("sidecar serializes");
        write_atomically(&sidecar_path(&self.path), &json)?;
        sync_dir(dir);
        Ok(())
    }

    /// Bytes of the saved index and its sidecar.
    pub fn disk_bytes(path: &Path) -> u64 {
        [path.to_path_buf(), sidecar_path(path)]
            .iter()
            .filter_map(|p| std::fs::metadata(p).ok())
            .map(|m| m.len())
            .sum()
    }

    fn error(&self, what: &str, e: cxx::Exception) -> Error {
        Error::VectorIndex {
            path: self.path.clone(),
            message: format!("{what} failed: {e}"),
        }
    }
}

fn sidecar_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(".json");
    PathBuf::from(name)
}

/// The sidecar of a saved index, if it exists, parses and is in this build's format (a
/// file in another format is not current, whatever it records).
pub fn read_state(path: &Path) -> Option<VectorFileState> {
    if !path.exists() {
        return None;
    }
    let bytes = std::fs::read(sidecar_path(path)).ok()?;
    let sidecar: Sidecar = serde_json::from_slice(&bytes).ok()?;
    if sidecar.format != VECTOR_FILE_FORMAT {
        log::info!(
            "vector index {} is in format {} (this Ferret reads {VECTOR_FILE_FORMAT}); \
             not used",
            path.display(),
            sidecar.format
        );
        return None;
    }
    Some(sidecar.state)
}

/// Writes `bytes` to `path` via a fsynced temporary file and a rename.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::File::create(&tmp)
        .map_err(|e| Error::io(format!("cannot write {}", tmp.display()), e))?;
    if let Err(e) = file.write_all(bytes).and_then(|_| file.sync_all()) {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(format!("cannot write {}", tmp.display()), e));
    }
    std::fs::rename(&tmp, path)
        .map_err(|e| Error::io(format!("cannot replace {}", path.display()), e))
}

fn sync_file(path: &Path) -> Result<()> {
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| Error::io(format!("cannot sync {}", path.display()), e))
}

/// Makes a rename durable; failure only weakens durability, so it is not an error.
fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(seed: u32, dims: usize) -> Vec<f32> {
        let mut state = (seed as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) + 1;
        let v: Vec<f32> = (0..dims)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((state >> 33) % 2001) as f32 - 1000.0
            })
            .collect();
        let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.iter().map(|x| x / norm).collect()
    }

    #[test]
    fn quantize_keeps_direction() {
        let v = unit(3, 8);
        let q = quantize(&v);
        assert_eq!(q.iter().map(|x| x.abs()).max(), Some(127));
        assert_eq!(bytes_to_i8(&i8_to_bytes(&q)), q);
        assert_eq!(quantize(&[0.0, 0.0]), vec![0, 0]);
    }

    #[test]
    fn save_reopen_search_and_detect_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.usearch");
        let mut index = VectorIndex::new(&path, 16).unwrap();
        for key in 1..=50u64 {
            index.add(key, &quantize(&unit(key as u32, 16))).unwrap();
        }
        index.add(7, &quantize(&unit(7, 16))).unwrap(); // replacing keeps one copy
        assert_eq!(index.len(), 50);
        let hits = index.search(&quantize(&unit(7, 16)), 3, None).unwrap();
        assert_eq!(hits[0].0, 7);
        assert!(hits[0].1 > 0.99);
        let only_even = |k: u64| k.is_multiple_of(2);
        let hits = index
            .search(&quantize(&unit(7, 16)), 5, Some(&only_even))
            .unwrap();
        assert!(hits.iter().all(|(k, _)| k.is_multiple_of(2)));
        index.save(4).unwrap();

        let state = VectorFileState {
            generation: 4,
            count: 50,
            dims: 16,
        };
        let reopened = VectorIndex::open_if_current(&path, 16, Some(state), false).unwrap();
        assert_eq!(reopened.unwrap().len(), 50);
        let stale = VectorFileState {
            generation: 5,
            ..state
        };
        assert!(VectorIndex::open_if_current(&path, 16, Some(stale), true)
            .unwrap()
            .is_none());

        // The sidecar names its format; one without is format 1, a newer one is not current.
        let sidecar: serde_json::Value =
            serde_json::from_slice(&std::fs::read(sidecar_path(&path)).unwrap()).unwrap();
        assert_eq!(sidecar["format"], VECTOR_FILE_FORMAT);
        let unversioned = br#"{"generation":4,"count":50,"dims":16}"#;
        std::fs::write(sidecar_path(&path), unversioned).unwrap();
        assert_eq!(read_state(&path), Some(state));
        let newer = format!(
            r#"{{"format":{},"generation":4,"count":50,"dims":16}}"#,
            VECTOR_FILE_FORMAT + 1
        );
        std::fs::write(sidecar_path(&path), &newer).unwrap();
        assert_eq!(read_state(&path), None);
        assert!(VectorIndex::open_if_current(&path, 16, Some(state), false)
            .unwrap()
            .is_none());
        assert_eq!(
            std::fs::read_to_string(sidecar_path(&path)).unwrap(),
            newer,
            "read, never rewritten"
        );
        std::fs::write(sidecar_path(&path), unversioned).unwrap();

        // Truncate the file: detected, not trusted.
        let len = std::fs::metadata(&path).unwrap().len();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(len / 2)
            .unwrap();
        assert!(VectorIndex::open_if_current(&path, 16, Some(state), true)
            .unwrap()
            .is_none());
        // Garbage instead of an index: likewise.
        std::fs::write(&path, b"not an index at all").unwrap();
        assert!(VectorIndex::open_if_current(&path, 16, Some(state), false)
            .unwrap()
            .is_none());
    }
}
