//! `profiles.sqlite` at the data root: which profiles exist, who they belong to, their
//! status, which one is current, and an append-only log of profile-level events (created,
//! signed in, deleted) that must outlive the profile's own database.
//!
//! The registry never holds a secret: a GitHub profile records the login, the numeric user id
//! and the API URL; the token itself lives only in the OS keychain (`crate::profiles::secrets`).

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::{validate_profile_id, DEFAULT_PROFILE};
use crate::error::ErrorKind;
use crate::store::{db_error, now};
use crate::{redact, Error, Result};

const MIGRATIONS: &[&str] = &[r#"
    CREATE TABLE profiles (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        display_name TEXT NOT NULL,
        github_login TEXT,
        github_user_id INTEGER,
        api_url TEXT,
        status TEXT NOT NULL DEFAULT 'active',
        created_at INTEGER NOT NULL,
        last_used_at INTEGER
    );
    CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        profile TEXT NOT NULL,
        event TEXT NOT NULL,
        detail TEXT NOT NULL
    );
    CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    "#];

/// Who a profile belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "lowercase")]
pub enum ProfileKind {
    /// Signed in with a GitHub (or GitHub Enterprise) token.
    GitHub,
    /// No token: local repositories only.
    Local,
}

impl ProfileKind {
    fn as_str(self) -> &'static str {
        match self {
            ProfileKind::GitHub => "github",
            ProfileKind::Local => "local",
        }
    }
}

/// What a profile may do right now. Enforced by the engine, not the shells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum ProfileStatus {
    /// Everything allowed.
    #[default]
    Active,
    /// Searches work; indexing, adding, removing and syncing are refused.
    ReadOnly,
    /// Data kept and searchable; no background work (watchers, scheduled fetches).
    Paused,
}

impl ProfileStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ProfileStatus::Active => "active",
            ProfileStatus::ReadOnly => "read-only",
            ProfileStatus::Paused => "paused",
        }
    }
}

impl FromStr for ProfileStatus {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "active" => Ok(ProfileStatus::Active),
            "read-only" | "readonly" => Ok(ProfileStatus::ReadOnly),
            "paused" => Ok(ProfileStatus::Paused),
            other => Err(Error::InvalidInput(format!(
                "unknown profile status {other:?}: use active, read-only or paused"
            ))),
        }
    }
}

/// One row of the registry.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ProfileRecord {
    pub id: String,
    pub kind: ProfileKind,
    pub display_name: String,
    pub github_login: Option<String>,
    pub github_user_id: Option<u64>,
    pub api_url: Option<String>,
    pub status: ProfileStatus,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

impl ProfileRecord {
    /// The name people know the profile by: its GitHub login, else its display name.
    pub fn name(&self) -> &str {
        self.github_login.as_deref().unwrap_or(&self.display_name)
    }
}

/// One profile-level event.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AuditEntry {
    pub at: i64,
    pub profile: String,
    pub event: String,
    pub detail: String,
}

/// The profile id of a GitHub account: `gh-<user id>` on github.com; on an Enterprise host
/// the host is part of the id, so the same numeric id on two servers are two profiles.
pub fn github_profile_id(api_url: &str, user_id: u64) -> String {
    let host = api_url
        .split("://")
        .nth(1)
        .unwrap_or(api_url)
        .split('/')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    if host == "api.github.com" || host.is_empty() {
        return format!("gh-{user_id}");
    }
    let slug: String = host
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let suffix = format!("-{user_id}");
    let room = 64 - "ghe-".len() - suffix.len();
    let slug = &slug[..slug.len().min(room)];
    format!("ghe-{}{suffix}", slug.trim_matches('-'))
}

/// The profile id for account `user_id` at `api_url` in this registry: the readable
/// [`github_profile_id`], unless another account already holds it (`github.acme.com` and
/// `github-acme.com` share a slug), in which case a hash of the API URL keeps the two
/// apart. An account that signs in again always gets its existing id back.
pub fn unique_github_profile_id(
    registry: &Registry,
    api_url: &str,
    user_id: u64,
) -> Result<String> {
    let readable = github_profile_id(api_url, user_id);
    let same_account = |record: &ProfileRecord| {
        record.github_user_id == Some(user_id)
            && record.api_url.as_deref().is_some_and(|u| {
                u.trim_end_matches('/')
                    .eq_ignore_ascii_case(api_url.trim_end_matches('/'))
            })
    };
    match registry.get(&readable)? {
        Some(record) if !same_account(&record) => {}
        _ => return Ok(readable),
    }
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(
        api_url
            .trim_end_matches('/')
            .to_ascii_lowercase()
            .as_bytes(),
    );
    let tag: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
    let suffix = format!("-{tag}-{user_id}");
    let base = readable.trim_end_matches(&format!("-{user_id}"));
    let room = 64 - suffix.len();
    Ok(format!("{}{suffix}", &base[..base.len().min(room)]))
}

/// The registry database and SQLite's files beside it, in the data root.
const REGISTRY_FILES: [&str; 4] = [
    "profiles.sqlite",
    "profiles.sqlite-wal",
    "profiles.sqlite-shm",
    "profiles.sqlite-journal",
];

/// The open registry of one data root.
pub struct Registry {
    conn: Connection,
    path: PathBuf,
}

impl Registry {
    /// Opens (creating) `<root>/profiles.sqlite`. Only Ferret's own entries of the root are
    /// made private: the root may be a folder of the user's (see
    /// [`super::private::data_root_dir`]).
    pub fn open(root: &Path) -> Result<Self> {
        let mut ours = REGISTRY_FILES.to_vec();
        ours.extend(["user_data", "models"]);
        super::private::data_root_dir(root, &ours)?;
        let path = root.join(REGISTRY_FILES[0]);
        let conn = Connection::open(&path).map_err(|e| db_error(&path, e))?;
        let registry = Registry { conn, path };
        registry.configure()?;
        super::private::private_named_files(root, &REGISTRY_FILES)?;
        Ok(registry)
    }

    fn configure(&self) -> Result<()> {
        let err = |e| db_error(&self.path, e);
        self.conn
            .busy_timeout(Duration::from_secs(10))
            .map_err(err)?;
        self.conn
            .execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")
            .map_err(|e| {
                let not_a_database = matches!(
                    &e,
                    rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::NotADatabase
                );
                if !not_a_database {
                    return err(e);
                }
                Error::Database {
                    path: self.path.clone(),
                    message: "not a valid profile registry (corrupt?): move it aside; \
                              profiles' data under user_data/ is untouched and each can \
                              be registered again by signing in"
                        .into(),
                    kind: ErrorKind::Corrupt,
                    source: Some(e),
                }
            })?;
        crate::store::migrate(&self.conn, &self.path, MIGRATIONS)
    }

    fn query_all<T, C: FromIterator<T>, P: rusqlite::Params>(
        &self,
        sql: &str,
        params: P,
        map: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Result<C> {
        crate::store::query_all(&self.conn, &self.path, sql, params, map)
    }

    fn err(&self, e: rusqlite::Error) -> Error {
        db_error(&self.path, e)
    }

    pub fn list(&self) -> Result<Vec<ProfileRecord>> {
        self.query("ORDER BY created_at, id", params![])
    }

    pub fn get(&self, id: &str) -> Result<Option<ProfileRecord>> {
        Ok(self.query("WHERE id = ?1", params![id])?.into_iter().next())
    }

    /// The profile, or an error that says how to see the existing ones.
    pub fn require(&self, id: &str) -> Result<ProfileRecord> {
        validate_profile_id(id)?;
        self.get(id)?.ok_or_else(|| {
            Error::NotFound(format!(
                "no profile {id:?}: `ferret profile list` shows the profiles, `ferret login` \
                 creates one"
            ))
        })
    }

    fn query(&self, tail: &str, args: &[&dyn rusqlite::ToSql]) -> Result<Vec<ProfileRecord>> {
        let sql = format!(
            "SELECT id, kind, display_name, github_login, github_user_id, api_url, status,
                    created_at, last_used_at FROM profiles {tail}"
        );
        self.query_all(&sql, args, |r| {
            let kind: String = r.get(1)?;
            let status: String = r.get(6)?;
            Ok(ProfileRecord {
                id: r.get(0)?,
                kind: if kind == "github" {
                    ProfileKind::GitHub
                } else {
                    ProfileKind::Local
                },
                display_name: r.get(2)?,
                github_login: r.get(3)?,
                github_user_id: r.get::<_, Option<i64>>(4)?.map(|n| n as u64),
                api_url: r.get(5)?,
                status: status.parse().unwrap_or_default(),
                created_at: r.get(7)?,
                last_used_at: r.get(8)?,
            })
        })
    }

    /// Registers a GitHub account's profile, or refreshes its login if it exists. Returns the
    /// record and whether it was created.
    pub fn upsert_github(
        &self,
        id: &str,
        login: &str,
        user_id: u64,
        api_url: &str,
    ) -> Result<(ProfileRecord, bool)> {
        validate_profile_id(id)?;
        let created = self.get(id)?.is_none();
        self.conn
            .execute(
                "INSERT INTO profiles (id, kind, display_name, github_login, github_user_id,
                                       api_url, created_at)
                 VALUES (?1, 'github', ?2, ?2, ?3, ?4, ?5)
                 ON CONFLICT(id) DO UPDATE SET display_name = ?2, github_login = ?2,
                                               api_url = ?4",
                params![id, login, user_id as i64, api_url, now()],
            )
            .map_err(|e| self.err(e))?;
        Ok((self.require(id)?, created))
    }

    /// Registers a local profile (no token). Fails if the id is taken.
    pub fn create_local(&self, id: &str) -> Result<ProfileRecord> {
        validate_profile_id(id)?;
        if self.get(id)?.is_some() {
            return Err(Error::InvalidInput(format!(
                "a profile {id:?} already exists; pick another name or `ferret profile use {id}`"
            )));
        }
        self.insert_local(id)?;
        self.require(id)
    }

    fn insert_local(&self, id: &str) -> Result<()> {
        self.conn
            .execute(
                "INSERT OR IGNORE INTO profiles (id, kind, display_name, created_at)
                 VALUES (?1, ?2, ?1, ?3)",
                params![id, ProfileKind::Local.as_str(), now()],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// The built-in local profile exists from the first run, so the CLI works before anyone
    /// signs in.
    pub fn ensure_default(&self) -> Result<()> {
        self.insert_local(DEFAULT_PROFILE)
    }

    /// The profile commands use when none is named: the one last chosen, else `default`.
    pub fn current(&self) -> Result<String> {
        Ok(self
            .chosen()?
            .unwrap_or_else(|| DEFAULT_PROFILE.to_string()))
    }

    /// The profile last chosen (signed in, created or switched to), if it still exists.
    /// `None` on a first run, and after the chosen profile was deleted: the desktop app then
    /// greets the user instead of silently using `default`.
    pub fn chosen(&self) -> Result<Option<String>> {
        let id: Option<String> = self
            .conn
            .query_row(
                "SELECT value FROM settings WHERE key = 'current_profile'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        Ok(match id {
            Some(id) if self.get(&id)?.is_some() => Some(id),
            _ => None,
        })
    }

    pub fn set_current(&self, id: &str) -> Result<()> {
        self.require(id)?;
        self.conn
            .execute(
                "INSERT INTO settings (key, value) VALUES ('current_profile', ?1)
                 ON CONFLICT(key) DO UPDATE SET value = ?1",
                params![id],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    pub fn set_status(&self, id: &str, status: ProfileStatus) -> Result<()> {
        self.require(id)?;
        self.conn
            .execute(
                "UPDATE profiles SET status = ?2 WHERE id = ?1",
                params![id, status.as_str()],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    pub fn touch(&self, id: &str) -> Result<()> {
        self.conn
            .execute(
                "UPDATE profiles SET last_used_at = ?2 WHERE id = ?1",
                params![id, now()],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Forgets a profile (its files are the caller's to remove).
    pub fn remove(&self, id: &str) -> Result<()> {
        self.conn
            .execute("DELETE FROM profiles WHERE id = ?1", params![id])
            .map_err(|e| self.err(e))?;
        self.conn
            .execute(
                "DELETE FROM settings WHERE key = 'current_profile' AND value = ?1",
                params![id],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Appends to the registry's audit log. Details pass through token redaction, so even a
    /// careless caller cannot write a token here.
    pub fn audit(&self, profile: &str, event: &str, detail: &str) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO audit (at, profile, event, detail) VALUES (?1, ?2, ?3, ?4)",
                params![
                    now(),
                    profile,
                    event,
                    redact::redact_tokens(detail).as_ref()
                ],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    pub fn audit_log(&self, profile: Option<&str>) -> Result<Vec<AuditEntry>> {
        self.query_all(
            "SELECT at, profile, event, detail FROM audit
                 WHERE ?1 IS NULL OR profile = ?1 ORDER BY id",
            params![profile],
            |r| {
                Ok(AuditEntry {
                    at: r.get(0)?,
                    profile: r.get(1)?,
                    event: r.get(2)?,
                    detail: r.get(3)?,
                })
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enterprise_hosts_that_share_a_slug_get_distinct_ids() {
        let dir = tempfile::tempdir().unwrap();
        let reg = Registry::open(dir.path()).unwrap();
        let a = "https://github.acme.com/api/v3";
        let b = "https://github-acme.com/api/v3";
        assert_eq!(
            github_profile_id(a, 42),
            github_profile_id(b, 42),
            "the readable ids collide"
        );
        let id_a = unique_github_profile_id(&reg, a, 42).unwrap();
        reg.upsert_github(&id_a, "alice", 42, a).unwrap();
        let id_b = unique_github_profile_id(&reg, b, 42).unwrap();
        assert_ne!(id_a, id_b);
        validate_profile_id(&id_b).unwrap();
        assert_eq!(
            unique_github_profile_id(&reg, a, 42).unwrap(),
            id_a,
            "signing in again keeps the id"
        );
        reg.upsert_github(&id_b, "bob", 42, b).unwrap();
        assert_eq!(unique_github_profile_id(&reg, b, 42).unwrap(), id_b);
    }

    #[test]
    fn github_ids_are_valid_and_distinct_per_host() {
        assert_eq!(github_profile_id("https://api.github.com", 42), "gh-42");
        let ghe = github_profile_id("https://git.corp.example/api/v3", 42);
        assert_eq!(ghe, "ghe-git-corp-example-42");
        validate_profile_id(&ghe).unwrap();
        let long = github_profile_id(&format!("https://{}/api/v3", "h".repeat(200)), 7);
        validate_profile_id(&long).unwrap();
        assert!(long.ends_with("-7"));
        let local = github_profile_id("http://127.0.0.1:4567", 9);
        validate_profile_id(&local).unwrap();
    }

    #[test]
    fn registry_round_trip_current_status_and_audit() {
        let dir = tempfile::tempdir().unwrap();
        let reg = Registry::open(dir.path()).unwrap();
        reg.ensure_default().unwrap();
        assert_eq!(reg.current().unwrap(), "default");
        assert_eq!(reg.chosen().unwrap(), None, "nothing chosen on a first run");
        let (rec, created) = reg
            .upsert_github("gh-1", "octo", 1, "https://api.github.com")
            .unwrap();
        assert!(created);
        assert_eq!(rec.kind, ProfileKind::GitHub);
        let (_, created) = reg
            .upsert_github("gh-1", "octo2", 1, "https://api.github.com")
            .unwrap();
        assert!(!created);
        assert_eq!(reg.require("gh-1").unwrap().github_login.unwrap(), "octo2");
        reg.set_current("gh-1").unwrap();
        assert_eq!(reg.current().unwrap(), "gh-1");
        assert_eq!(reg.chosen().unwrap().as_deref(), Some("gh-1"));
        reg.set_status("gh-1", ProfileStatus::ReadOnly).unwrap();
        assert_eq!(reg.require("gh-1").unwrap().status, ProfileStatus::ReadOnly);
        assert!(reg.create_local("gh-1").is_err());
        assert!(reg.create_local("../x").is_err());
        assert!(reg.set_current("nope").is_err());

        reg.audit(
            "gh-1",
            "signin",
            "token ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        )
        .unwrap();
        let log = reg.audit_log(Some("gh-1")).unwrap();
        assert_eq!(log.len(), 1);
        assert!(!log[0].detail.contains("abcdefghij"), "{}", log[0].detail);
        // Append-only, enforced by the database itself.
        assert!(reg.conn.execute("DELETE FROM audit", []).is_err());
        assert!(reg
            .conn
            .execute("UPDATE audit SET detail = ''", [])
            .is_err());

        reg.remove("gh-1").unwrap();
        assert_eq!(reg.current().unwrap(), "default");
        assert_eq!(
            reg.chosen().unwrap(),
            None,
            "the chosen profile was deleted"
        );
        assert!(reg.get("gh-1").unwrap().is_none());
        assert_eq!(reg.list().unwrap().len(), 1);
    }
}
