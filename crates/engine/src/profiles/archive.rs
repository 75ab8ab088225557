//! Backup and restore of one profile as a single file (`ferret profile export` / `import`).
//!
//! The archive is a gzipped tar holding `ferret-profile/manifest.json` (format version, the
//! profile's record without any token, every file's size and sha256, the repositories),
//! `meta.sqlite` (a consistent copy made with SQLite's `VACUUM INTO`, so exporting works
//! while the app is indexing) and `config.json`. The vectors travel inside `meta.sqlite` (its `embeddings`
//! table, their only stored copy), so nothing is re-embedded after an import.
//!
//! Export writes `<out>.partial-<pid>` (owner-only, never over an existing file) and renames
//! it into place. Import trusts nothing in the file, which may come from anyone: only the
//! three known names as plain regular-file entries (no long-name or PAX headers), bounded
//! sizes (and a bounded number of bytes read from the gzip stream, so a compressed bomb
//! stops early), room on the disk, the manifest's checksums, and a database that passes
//! SQLite's full integrity check in defensive mode with exactly the schema Ferret creates.
//! Then what the rows and settings say is checked too (see [`settle`]): clones go to the
//! profile's own `repos/OWNER/NAME` with no stored URL, local folders wait for the user to
//! confirm them, and settings that run programs, load libraries or open files without
//! asking are reset. All of it happens in a private staging directory before anything in
//! the data directory changes; an existing profile is only replaced with `--replace`, and
//! then only after the new one is complete.

use std::cell::Cell;
use std::collections::HashSet;
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::private::private_dir;
use super::registry::{ProfileKind, ProfileRecord};
use super::{ImportedSettings, ProfileConfig, ProfilePaths};
use crate::remote::github::{self, GitHubClient};
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
    /// Local repositories whose folder is on this machine: not read, watched or indexed
    /// until the user checks the folder and confirms it (`ferret repo confirm NAME`).
    pub local_repos_to_confirm: Vec<LocalRepoToConfirm>,
    /// Local repositories whose folder is not on this machine (still searchable; restore
    /// the folder and confirm it, or remove the repository).
    pub missing_local_repos: Vec<String>,
    /// GitHub repositories whose clone is made again by the next sync after signing in
    /// (still searchable meanwhile; the index and its embeddings are kept).
    pub clones_to_restore: Vec<String>,
    /// The profile had a GitHub token: sign in again (`ferret login`) to sync.
    pub needs_sign_in: bool,
    /// An existing profile was replaced.
    pub replaced: bool,
    /// Settings the archive set that an import never takes over (they run a program, load
    /// a library, open files without asking or index credentials), by their `config.json`
    /// name; they are at their defaults now.
    pub settings_reset_for_safety: Vec<String>,
    /// Settings whose value in the archive could not be used, each a message naming it;
    /// they are at their defaults now.
    pub settings_reset_as_invalid: Vec<String>,
}

/// A local repository an imported profile names, waiting for the user's confirmation.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LocalRepoToConfirm {
    pub name: String,
    /// The folder as the archive names it.
    pub root: PathBuf,
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
    // Owner-only from the first byte (the archive holds the whole index), and never through
    // a file or symlink someone placed at this name.
    let mut options = File::options();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options.open(path).map_err(|e| {
        let hint = if e.kind() == std::io::ErrorKind::AlreadyExists {
            " (left by an export that stopped; remove it and export again)"
        } else {
            ""
        };
        Error::io(format!("cannot create {}{hint}", path.display()), e)
    })?;
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

/// The error for an archive that cannot be imported: `why`, and that nothing changed.
fn unusable(file: &Path, why: impl std::fmt::Display) -> Error {
    Error::Refused(format!(
        "{} is not a usable Ferret profile export: {why}; nothing was changed",
        file.display()
    ))
}

/// Most bytes read from an archive's gzip stream when the database may be `max_bytes`:
/// that, the two small files at their limit and the tar framing.
fn max_unpacked_bytes(max_bytes: u64) -> u64 {
    max_bytes
        .saturating_add(2 * MAX_SMALL_FILE)
        .saturating_add(64 * 1024)
}

/// How many times its compressed size an archive may unpack to, past
/// [`BOMB_ALLOWANCE`]. A Ferret database of that size is dense (embeddings hardly compress;
/// the full-text index a few times), while a run of zeros deflates about a thousandfold.
const MAX_EXPANSION: u64 = 100;
/// Unpacked bytes allowed whatever the compression ratio: small databases are mostly
/// empty pages, which compress very well.
const BOMB_ALLOWANCE: u64 = 64 * 1024 * 1024;

/// Counts the bytes read from the archive file (the compressed side).
struct Counted<R> {
    inner: R,
    read: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.set(self.read.get() + n as u64);
        Ok(n)
    }
}

/// The gzip decoder's output, cut off with an error (and `hit` set, since the tar reader
/// wraps the error in its own words) once it passes `max_total` bytes or
/// [`MAX_EXPANSION`] times the compressed bytes read so far plus [`BOMB_ALLOWANCE`]: a
/// compressed bomb stops after a few dozen megabytes instead of filling the disk.
struct Capped<R> {
    inner: R,
    compressed: Rc<Cell<u64>>,
    produced: u64,
    max_total: u64,
    hit: Rc<Cell<bool>>,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.produced += n as u64;
        let allowed = self
            .compressed
            .get()
            .saturating_mul(MAX_EXPANSION)
            .max(BOMB_ALLOWANCE)
            .min(self.max_total);
        if self.produced > allowed {
            self.hit.set(true);
            return Err(std::io::Error::other(
                "the archive unpacks to too many bytes",
            ));
        }
        Ok(n)
    }
}

/// Unpacks and checks `file`: known names only, plain regular-file entries, sizes within
/// `max_bytes` and the free disk space, checksums as the manifest says, a format this
/// build reads. The database and the settings are checked by [`settle`].
pub(crate) fn unpack(data_root: &Path, file: &Path, max_bytes: u64) -> Result<Unpacked> {
    let refuse = |why: String| unusable(file, why);
    let input =
        File::open(file).map_err(|e| Error::io(format!("cannot read {}", file.display()), e))?;
    let staging = Staging::new(data_root, "import")?;
    let compressed = Rc::new(Cell::new(0));
    let over_cap = Rc::new(Cell::new(false));
    let mut archive = tar::Archive::new(Capped {
        inner: flate2::read::GzDecoder::new(Counted {
            inner: input,
            read: compressed.clone(),
        }),
        compressed: compressed.clone(),
        produced: 0,
        max_total: max_unpacked_bytes(max_bytes),
        hit: over_cap.clone(),
    });
    let damaged = |e: std::io::Error| {
        if over_cap.get() {
            refuse(format!(
                "it unpacks to far more than its compressed size ({} bytes read) suggests, \
                 which no Ferret export does (a compression bomb?); reading stopped early",
                compressed.get()
            ))
        } else {
            refuse(format!("damaged or truncated ({e})"))
        }
    };
    // Raw entries: a GNU long-name or PAX header is an entry of its own, refused below by
    // its type before its contents are read (an export never writes one).
    let entries = archive.entries().map_err(damaged)?.raw(true);
    let mut seen = Vec::new();
    for entry in entries {
        let mut entry = entry.map_err(damaged)?;
        let raw = entry.path_bytes().into_owned();
        let name = String::from_utf8_lossy(&raw).into_owned();
        let kind = entry.header().entry_type();
        if kind != tar::EntryType::Regular {
            return Err(refuse(format!(
                "entry {name:?} is not a regular file ({})",
                entry_kind_name(kind)
            )));
        }
        let base = name
            .strip_prefix(&format!("{TOP}/"))
            .filter(|b| [MANIFEST, META_DB, CONFIG].contains(b))
            .ok_or_else(|| refuse(format!("unexpected entry {name:?}")))?;
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
        check_free_space(&staging.dir, size, file)?;
        let dest = staging.dir.join(base);
        let mut out = File::create(&dest)
            .map_err(|e| Error::io(format!("cannot write {}", dest.display()), e))?;
        let copied = std::io::copy(&mut (&mut entry).take(limit + 1), &mut out).map_err(damaged)?;
        if copied != size {
            return Err(refuse(format!("{name:?} is truncated")));
        }
        out.flush()
            .map_err(|e| Error::io(format!("cannot write {}", dest.display()), e))?;
        seen.push(base.to_string());
    }
    let manifest_text = std::fs::read(staging.dir.join(MANIFEST))
        .map_err(|_| refuse("it has no manifest".into()))?;
    // The format first, on its own: a newer Ferret may have changed the rest.
    let format = serde_json::from_slice::<serde_json::Value>(&manifest_text)
        .ok()
        .and_then(|v| v.get("format")?.as_u64());
    if let Some(format) = format.filter(|f| *f > u64::from(FORMAT)) {
        return Err(refuse(format!(
            "it was made by a newer Ferret (format {format}, this one reads {FORMAT}); \
             upgrade Ferret"
        )));
    }
    let manifest: Manifest = serde_json::from_slice(&manifest_text)
        .map_err(|e| refuse(format!("its manifest is unreadable ({e})")))?;
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
    check_profile_record(&manifest.profile).map_err(refuse)?;
    if seen.iter().any(|s| s == CONFIG) {
        // A settings file this build cannot read (malformed, or from a newer Ferret).
        ProfileConfig::load(&staging.dir.join(CONFIG))
            .map_err(|e| refuse(format!("its settings are unusable ({e})")))?;
    }
    Ok(Unpacked { manifest, staging })
}

/// A tar entry type as people call it.
fn entry_kind_name(kind: tar::EntryType) -> String {
    match kind {
        tar::EntryType::Symlink => "a symbolic link".into(),
        tar::EntryType::Link => "a hard link".into(),
        tar::EntryType::Directory => "a directory".into(),
        tar::EntryType::GNULongName | tar::EntryType::GNULongLink => {
            "a long-name header, which Ferret exports never hold".into()
        }
        tar::EntryType::XHeader | tar::EntryType::XGlobalHeader => {
            "a PAX header, which Ferret exports never hold".into()
        }
        other => format!("entry type {:?}", other.as_byte() as char),
    }
}

/// Refuses to stage `size` more bytes in `dir` when its file system has less free, with a
/// little room left for the database's journal and the rest of the system.
fn check_free_space(dir: &Path, size: u64, file: &Path) -> Result<()> {
    const HEADROOM: u64 = 64 * 1024 * 1024;
    let Some(free) = free_bytes(dir) else {
        return Ok(());
    };
    if size.saturating_add(HEADROOM) <= free {
        return Ok(());
    }
    Err(Error::DiskFull {
        what: format!(
            "importing {} needs {} MiB in {} and only {} MiB are free; nothing was changed",
            file.display(),
            size.div_ceil(1024 * 1024),
            dir.display(),
            free / (1024 * 1024)
        ),
        source: None,
    })
}

/// Bytes an unprivileged user may still write on the file system holding `dir`.
fn free_bytes(dir: &Path) -> Option<u64> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
        // SAFETY: `path` is NUL-terminated and outlives the call; `stats` is a plain C
        // struct that statvfs fills in, and is read only when it reports success.
        let mut stats: libc::statvfs = unsafe { std::mem::zeroed() };
        if unsafe { libc::statvfs(path.as_ptr(), &mut stats) } != 0 {
            return None;
        }
        #[allow(clippy::unnecessary_cast)] // The field widths differ between platforms.
        Some((stats.f_bavail as u64).saturating_mul(stats.f_frsize as u64))
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        None
    }
}

/// The archive's profile record must be one this build would have written: a GitHub
/// profile's API URL is where its token goes once the user signs in again, so it has to be
/// a URL a sign-in accepts; the login is shown in menus and terminals.
fn check_profile_record(record: &ProfileRecord) -> std::result::Result<(), String> {
    if record.kind != ProfileKind::GitHub {
        return Ok(());
    }
    if let Some(api_url) = &record.api_url {
        GitHubClient::new(api_url)
            .map_err(|e| format!("its profile names an unusable GitHub API URL ({e})"))?;
    }
    if let Some(login) = &record.github_login {
        let ok = (1..=39).contains(&login.len())
            && login
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !ok {
            return Err(format!(
                "its profile names {login:?} as the GitHub login, which GitHub does not allow"
            ));
        }
    }
    Ok(())
}

/// What [`settle`] made of the archive's rows and settings.
pub(crate) struct Settled {
    pub settings: ImportedSettings,
    pub local_repos_to_confirm: Vec<LocalRepoToConfirm>,
    pub missing_local_repos: Vec<String>,
    pub clones_to_restore: Vec<String>,
}

/// Checks and adapts the staged database and settings of `unpacked` for the profile at
/// `paths`, still inside the staging directory. The database is opened in SQLite's
/// defensive mode and must pass its full integrity check with Ferret's own schema (see
/// [`Store::open_untrusted`]). Every repository row must name itself as `ferret repo add`
/// would allow; a clone must name a GitHub `OWNER/NAME` and is placed at the profile's
/// `repos/OWNER/NAME` with no stored URL (the next sync asks the profile's GitHub for it);
/// a local repository waits for the user to confirm its folder; every indexed path must
/// stay inside its repository. Settings are taken over as [`ProfileConfig::from_import`]
/// says.
pub(crate) fn settle(unpacked: &Unpacked, file: &Path, paths: &ProfilePaths) -> Result<Settled> {
    let db = unpacked.staging.dir.join(META_DB);
    let store = Store::open_untrusted(&db).map_err(|e| {
        unusable(
            file,
            format!("its database is damaged or was not written by Ferret ({e})"),
        )
    })?;
    let mut settled = Settled {
        settings: ImportedSettings {
            config: ProfileConfig::default(),
            reset_for_safety: Vec::new(),
            reset_as_invalid: Vec::new(),
        },
        local_repos_to_confirm: Vec::new(),
        missing_local_repos: Vec::new(),
        clones_to_restore: Vec::new(),
    };
    let mut remotes = HashSet::new();
    for repo in store.repos()? {
        crate::engine::validate_repo_name(&repo.name).map_err(|_| {
            unusable(
                file,
                format!(
                    "it names a repository {:?}, which Ferret does not allow",
                    repo.name
                ),
            )
        })?;
        let branch = repo
            .branch
            .as_deref()
            .filter(|b| crate::remote::git::branch_name_is_valid(b));
        let head = repo.head.as_deref().filter(|h| is_commit_id(h));
        match &repo.remote {
            Some(remote) => {
                let (owner, name) = github::validate_full_name(remote).map_err(|_| {
                    unusable(
                        file,
                        format!(
                            "its repository {:?} names {remote:?} as its GitHub repository, \
                             which is not OWNER/NAME",
                            repo.name
                        ),
                    )
                })?;
                if !remotes.insert(remote.to_ascii_lowercase()) {
                    return Err(unusable(
                        file,
                        format!("it lists the GitHub repository {remote} twice"),
                    ));
                }
                let root = paths.repos_dir().join(&owner).join(&name);
                store.settle_imported_repo(repo.id, &root, "github", branch, head, false)?;
                if !root.is_dir() {
                    settled.clones_to_restore.push(repo.name.clone());
                }
            }
            None => {
                if !repo.root.is_absolute() {
                    return Err(unusable(
                        file,
                        format!(
                            "its repository {:?} has the folder {:?}, which is not an absolute \
                             path",
                            repo.name,
                            repo.root.display()
                        ),
                    ));
                }
                store.settle_imported_repo(repo.id, &repo.root, "local", branch, head, true)?;
                if repo.root.is_dir() {
                    settled.local_repos_to_confirm.push(LocalRepoToConfirm {
                        name: repo.name.clone(),
                        root: repo.root.clone(),
                    });
                } else {
                    settled.missing_local_repos.push(repo.name.clone());
                }
            }
        }
    }
    if let Some((repo, path)) = store.first_path_outside_its_repo()? {
        return Err(unusable(
            file,
            format!("its repository {repo:?} lists the file {path:?}, outside the repository"),
        ));
    }
    drop(store);
    let config_file = unpacked.staging.dir.join(CONFIG);
    if config_file.is_file() {
        let imported = ProfileConfig::load(&config_file)
            .map_err(|e| unusable(file, format!("its settings are unusable ({e})")))?;
        settled.settings = ProfileConfig::from_import(&imported);
        settled.settings.config.save(&config_file)?;
    }
    Ok(settled)
}

/// A full git commit id (SHA-1 or SHA-256, lowercase hex).
fn is_commit_id(text: &str) -> bool {
    matches!(text.len(), 40 | 64) && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
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

#[cfg(test)]
mod tests;
