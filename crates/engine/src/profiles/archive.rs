//! Backup and restore of one profile as a single file (`ferret profile export` / `import`).
//!
//! The archive is a gzipped tar holding `ferret-profile/manifest.json` (format version, the
//! profile's record without any token, every file's size and sha256, the repositories),
//! `meta.sqlite` (a consistent copy made with SQLite's `VACUUM INTO`, so exporting works
//! while the app is indexing) and `config.json`. The vectors travel inside `meta.sqlite` (its `embeddings`
//! table, their only stored copy), so nothing is re-embedded after an import.
//!
//! Export writes `<out>.partial-<pid>` and renames it into place. Import trusts nothing in
//! the file: only the three known names, regular files, bounded sizes, the manifest's
//! checksums and a readable database are accepted, all checked in a private staging
//! directory before anything in the data directory changes; an existing profile is only
//! replaced with `--replace`, and then only after the new one is complete.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::private::private_dir;
use super::registry::ProfileRecord;
use super::ProfilePaths;
use crate::store::Store;
use crate::{Error, Result};

/// The archive format this build writes and reads.
const FORMAT: u32 = 1;
const TOP: &str = "ferret-profile";
const MANIFEST: &str = "manifest.json";
const META_DB: &str = "meta.sqlite";
const CONFIG: &str = "config.json";
/// Largest manifest or config accepted.
const MAX_SMALL_FILE: u64 = 16 * 1024 * 1024;

/// What an archive says about itself.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub ferret_version: String,
    pub created_at: i64,
    /// The profile's registry record (a token is never part of it: that stays in the
    /// keychain).
    pub profile: ProfileRecord,
    pub files: Vec<ArchivedFile>,
    pub repos: Vec<ArchivedRepo>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ArchivedFile {
    pub name: String,
    pub bytes: u64,
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ArchivedRepo {
    pub name: String,
    pub root: PathBuf,
    /// `OWNER/NAME` of a GitHub clone.
    pub remote: Option<String>,
}

/// What `export` wrote.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ExportReport {
    pub profile: String,
    pub file: PathBuf,
    pub bytes: u64,
    pub repos: usize,
}

/// What `import` restored, and what the user still has to do.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ImportReport {
    pub profile: ProfileRecord,
    pub repos: usize,
    /// Local repositories whose folder is not on this machine (still searchable; re-add or
    /// restore the folder to index them again).
    pub missing_local_repos: Vec<String>,
    /// GitHub repositories whose clone is made again by the next sync after signing in
    /// (still searchable meanwhile; the index and its embeddings are kept).
    pub clones_to_restore: Vec<String>,
    /// The profile had a GitHub token: sign in again (`ferret login`) to sync.
    pub needs_sign_in: bool,
    /// An existing profile was replaced.
    pub replaced: bool,
}

/// Writes profile `record` (whose files are at `paths`) to `out`.
pub(crate) fn export(
    data_root: &Path,
    record: &ProfileRecord,
    paths: &ProfilePaths,
    out: &Path,
) -> Result<ExportReport> {
    let staging = Staging::new(data_root, "export")?;
    let db = staging.dir.join(META_DB);
    {
        let store = Store::open(&paths.meta_db())?;
        store.vacuum_into(&db)?;
    }
    // Read before hashing: opening the copy (WAL mode, migrations) may rewrite its header.
    let repos = Store::open(&db)?
        .repos()?
        .into_iter()
        .map(|r| ArchivedRepo {
            name: r.name,
            root: r.root,
            remote: r.remote,
        })
        .collect::<Vec<_>>();
    let mut files = vec![archived_file(&db, META_DB)?];
    let config = paths.config_file();
    if config.is_file() {
        let copy = staging.dir.join(CONFIG);
        std::fs::copy(&config, &copy)
            .map_err(|e| Error::io(format!("cannot copy {}", config.display()), e))?;
        files.push(archived_file(&copy, CONFIG)?);
    }
    let manifest = Manifest {
        format: FORMAT,
        ferret_version: env!("CARGO_PKG_VERSION").into(),
        created_at: crate::store::now(),
        profile: record.clone(),
        files,
        repos,
    };
    let partial = out.with_file_name(format!(
        "{}.partial-{}",
        out.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("profile"),
        std::process::id()
    ));
    let written = write_archive(&partial, &staging.dir, &manifest).and_then(|()| {
        std::fs::rename(&partial, out)
            .map_err(|e| Error::io(format!("cannot write {}", out.display()), e))
    });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&partial);
        return Err(e);
    }
    let bytes = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
    Ok(ExportReport {
        profile: record.id.clone(),
        file: out.to_path_buf(),
        bytes,
        repos: manifest.repos.len(),
    })
}

fn write_archive(path: &Path, dir: &Path, manifest: &Manifest) -> Result<()> {
    let file = File::create(path)
        .map_err(|e| Error::io(format!("cannot create {}", path.display()), e))?;
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    let manifest_json = serde_json::to_vec_pretty(manifest).expect("manifest serializes");
    let mut header = tar::Header::new_gnu();
    header.set_size(manifest_json.len() as u64);
    header.set_mode(0o600);
    header.set_cksum();
    let io = |e| Error::io(format!("cannot write {}", path.display()), e);
    tar.append_data(&mut header, format!("{TOP}/{MANIFEST}"), &manifest_json[..])
        .map_err(io)?;
    for f in &manifest.files {
        let mut src = File::open(dir.join(&f.name)).map_err(io)?;
        let mut header = tar::Header::new_gnu();
        header.set_size(f.bytes);
        header.set_mode(0o600);
        header.set_cksum();
        tar.append_data(&mut header, format!("{TOP}/{}", f.name), &mut src)
            .map_err(io)?;
    }
    let gz = tar.into_inner().map_err(io)?;
    let file = gz.finish().map_err(io)?;
    file.sync_all().map_err(io)
}

fn archived_file(path: &Path, name: &str) -> Result<ArchivedFile> {
    let (bytes, sha256) = hash_file(path)?;
    Ok(ArchivedFile {
        name: name.into(),
        bytes,
        sha256,
    })
}

fn hash_file(path: &Path) -> Result<(u64, String)> {
    let mut file =
        File::open(path).map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut bytes = 0u64;
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| Error::io(format!("cannot read {}", path.display()), e))?;
        if n == 0 {
            break;
        }
        bytes += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((bytes, format!("{:x}", hasher.finalize())))
}

/// A verified archive, unpacked in a staging directory.
pub(crate) struct Unpacked {
    pub manifest: Manifest,
    pub staging: Staging,
}

/// Unpacks and checks `file`: known names only, regular files, sizes within `max_bytes`,
/// checksums as the manifest says, a format this build reads, a database SQLite can read.
pub(crate) fn unpack(data_root: &Path, file: &Path, max_bytes: u64) -> Result<Unpacked> {
    let refuse = |why: String| {
        Error::Refused(format!(
            "{} is not a usable Ferret profile export: {why}; nothing was changed",
            file.display()
        ))
    };
    let input =
        File::open(file).map_err(|e| Error::io(format!("cannot read {}", file.display()), e))?;
    let staging = Staging::new(data_root, "import")?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(input));
    let entries = archive
        .entries()
        .map_err(|e| refuse(format!("cannot read it ({e})")))?;
    let mut seen = Vec::new();
    for entry in entries {
        let mut entry = entry.map_err(|e| refuse(format!("damaged or truncated ({e})")))?;
        let raw = entry.path_bytes().into_owned();
        let name = String::from_utf8_lossy(&raw).into_owned();
        let base = name
            .strip_prefix(&format!("{TOP}/"))
            .filter(|b| [MANIFEST, META_DB, CONFIG].contains(b))
            .ok_or_else(|| refuse(format!("unexpected entry {name:?}")))?;
        if entry.header().entry_type() != tar::EntryType::Regular {
            return Err(refuse(format!("{name:?} is not a regular file")));
        }
        if seen.iter().any(|s| s == base) {
            return Err(refuse(format!("{name:?} appears twice")));
        }
        let limit = if base == META_DB {
            max_bytes
        } else {
            MAX_SMALL_FILE
        };
        let size = entry.header().size().unwrap_or(u64::MAX);
        if size > limit {
            return Err(refuse(format!(
                "{name:?} is {size} bytes, over the limit of {limit}"
            )));
        }
        let dest = staging.dir.join(base);
        let mut out = File::create(&dest)
            .map_err(|e| Error::io(format!("cannot write {}", dest.display()), e))?;
        let copied = std::io::copy(&mut (&mut entry).take(limit + 1), &mut out)
            .map_err(|e| refuse(format!("damaged or truncated ({e})")))?;
        if copied != size {
            return Err(refuse(format!("{name:?} is truncated")));
        }
        out.flush()
            .map_err(|e| Error::io(format!("cannot write {}", dest.display()), e))?;
        seen.push(base.to_string());
    }
    let manifest_text = std::fs::read(staging.dir.join(MANIFEST))
        .map_err(|_| refuse("it has no manifest".into()))?;
    let manifest: Manifest = serde_json::from_slice(&manifest_text)
        .map_err(|e| refuse(format!("its manifest is unreadable ({e})")))?;
    if manifest.format > FORMAT {
        return Err(refuse(format!(
            "it was made by a newer Ferret (format {}, this one reads {FORMAT}); upgrade Ferret",
            manifest.format
        )));
    }
    for base in &seen {
        if base == MANIFEST {
            continue;
        }
        let listed = manifest
            .files
            .iter()
            .find(|f| &f.name == base)
            .ok_or_else(|| refuse(format!("{base} is not in its manifest")))?;
        let (bytes, sha256) = hash_file(&staging.dir.join(base))?;
        if bytes != listed.bytes || sha256 != listed.sha256 {
            return Err(refuse(format!(
                "{base} does not match its checksum (tampered or damaged)"
            )));
        }
    }
    if !seen.iter().any(|s| s == META_DB) {
        return Err(refuse("it has no database".into()));
    }
    Store::open(&staging.dir.join(META_DB))
        .and_then(|s| s.check_integrity())
        .map_err(|e| refuse(format!("its database is damaged ({e})")))?;
    if seen.iter().any(|s| s == CONFIG) {
        // A settings file this build cannot read (malformed, or from a newer Ferret).
        super::ProfileConfig::load(&staging.dir.join(CONFIG))
            .map_err(|e| refuse(format!("its settings are unusable ({e})")))?;
    }
    Ok(Unpacked { manifest, staging })
}

/// A private directory under the data root for one export or import, removed when dropped
/// unless its contents were moved into place.
pub(crate) struct Staging {
    pub dir: PathBuf,
}

impl Staging {
    fn new(data_root: &Path, what: &str) -> Result<Staging> {
        let base = data_root.join("user_data");
        private_dir(&base)?;
        let dir = base.join(format!(
            ".{what}-{}-{}",
            std::process::id(),
            crate::store::now()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        private_dir(&dir)?;
        Ok(Staging { dir })
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
