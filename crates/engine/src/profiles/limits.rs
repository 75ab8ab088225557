//! Per-profile limits: how many repositories, chunks and bytes on disk a profile may hold.
//!
//! Checked by the engine *before* an operation starts (adding a repository, cloning, an
//! index run), with the limit and the current usage in the message, so the user learns
//! what to remove or raise instead of finding a half-done job. Figures at 80% or more of a
//! limit become warnings in the stats.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// Limits of one profile, stored in its `config.json` under `limits`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct ProfileLimits {
    pub max_repos: u64,
    pub max_chunks: u64,
    pub max_bytes: u64,
}

impl Default for ProfileLimits {
    /// Generous: a large monorepo is a few hundred thousand chunks and a few GiB.
    fn default() -> Self {
        ProfileLimits {
            max_repos: 500,
            max_chunks: 5_000_000,
            max_bytes: 50 * 1024 * 1024 * 1024,
        }
    }
}

/// What a profile holds now (or what an operation would add).
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, Default)]
pub struct Usage {
    pub repos: u64,
    pub chunks: u64,
    pub bytes: u64,
}

/// One limit with its usage, for stats and the UI's usage bars.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LimitUsage {
    pub name: &'static str,
    pub used: u64,
    pub limit: u64,
    pub fraction: f64,
}

/// Fraction of a limit at which stats start warning.
pub const WARN_AT: f64 = 0.8;

impl ProfileLimits {
    /// Each limit with its usage.
    pub fn usage(&self, usage: &Usage) -> Vec<LimitUsage> {
        [
            ("repos", usage.repos, self.max_repos),
            ("chunks", usage.chunks, self.max_chunks),
            ("bytes", usage.bytes, self.max_bytes),
        ]
        .into_iter()
        .map(|(name, used, limit)| LimitUsage {
            name,
            used,
            limit,
            fraction: if limit == 0 {
                1.0
            } else {
                used as f64 / limit as f64
            },
        })
        .collect()
    }

    /// Fails when `current + adding` exceeds any limit (a limit already reached refuses
    /// even an addition of unknown size, passed as zero).
    pub fn check(&self, profile: &str, current: &Usage, adding: &Usage) -> Result<()> {
        let checks = [
            (
                "repositories",
                "max_repos",
                current.repos,
                adding.repos,
                self.max_repos,
            ),
            (
                "chunks",
                "max_chunks",
                current.chunks,
                adding.chunks,
                self.max_chunks,
            ),
            (
                "bytes on disk",
                "max_bytes",
                current.bytes,
                adding.bytes,
                self.max_bytes,
            ),
        ];
        for (what, key, used, add, limit) in checks {
            let reached = used >= limit && (add > 0 || key != "max_repos");
            if used.saturating_add(add) > limit || reached {
                let wanted = if add > 0 {
                    format!(" and this needs about {} more", human(key, add))
                } else {
                    String::new()
                };
                return Err(Error::Limit(format!(
                    "profile {profile:?} would exceed its limit of {} {what}: it holds {}{wanted}. \
                     Remove repositories (`ferret repo remove NAME`) or raise the limit \
                     (`ferret profile set {profile} --{} N`)",
                    human(key, limit),
                    human(key, used),
                    key.replace('_', "-"),
                )));
            }
        }
        Ok(())
    }

    /// Sentences for each limit at 80% or more.
    pub fn warnings(&self, profile: &str, usage: &Usage) -> Vec<String> {
        self.usage(usage)
            .into_iter()
            .filter(|u| u.fraction >= WARN_AT)
            .map(|u| {
                let key = format!("max_{}", u.name);
                format!(
                    "profile {profile:?} uses {:.0}% of its {} limit ({} of {})",
                    u.fraction * 100.0,
                    u.name,
                    human(&key, u.used),
                    human(&key, u.limit)
                )
            })
            .collect()
    }
}

fn human(key: &str, n: u64) -> String {
    if key != "max_bytes" {
        return n.to_string();
    }
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// Parses `500M`, `2GiB`, `10g`, `4096` into bytes.
pub fn parse_bytes(text: &str) -> Result<u64> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| Error::InvalidInput(format!("invalid size {text:?}: use e.g. 500M or 20G")))?;
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        _ => {
            return Err(Error::InvalidInput(format!(
                "invalid size unit in {text:?}: use K, M, G or T"
            )))
        }
    };
    Ok((number * scale as f64) as u64)
}

/// Total size of the files under `dir` (symlinks not followed; unreadable entries count 0).
pub fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.file_type() {
            Ok(t) if t.is_dir() => dir_bytes(&entry.path()),
            Ok(t) if t.is_file() => entry.metadata().map_or(0, |m| m.len()),
            _ => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_names_the_limit_and_the_usage() {
        let limits = ProfileLimits {
            max_repos: 2,
            max_chunks: 100,
            max_bytes: 1 << 20,
        };
        let now = Usage {
            repos: 2,
            chunks: 50,
            bytes: 1000,
        };
        let one_repo = Usage {
            repos: 1,
            ..Usage::default()
        };
        let err = limits.check("p", &now, &one_repo).unwrap_err().to_string();
        assert!(err.contains("limit of 2 repositories"), "{err}");
        assert!(err.contains("holds 2"), "{err}");
        assert!(err.contains("--max-repos"), "{err}");
        // At the repo limit, an index run (adding no repo) is still allowed.
        limits.check("p", &now, &Usage::default()).unwrap();
        let full = Usage { chunks: 100, ..now };
        let err = limits.check("p", &full, &Usage::default()).unwrap_err();
        assert!(err.to_string().contains("100 chunks"), "{err}");
        let big = Usage {
            bytes: 2 << 20,
            ..Usage::default()
        };
        let err = limits.check("p", &Usage::default(), &big).unwrap_err();
        assert!(err.to_string().contains("1.0 MiB"), "{err}");
    }

    #[test]
    fn warnings_start_at_80_percent() {
        let limits = ProfileLimits {
            max_repos: 10,
            max_chunks: 100,
            max_bytes: 1000,
        };
        let usage = Usage {
            repos: 8,
            chunks: 79,
            bytes: 999,
        };
        let w = limits.warnings("p", &usage);
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w[0].contains("80% of its repos limit"), "{w:?}");
        assert!(w[1].contains("bytes"), "{w:?}");
    }

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_bytes("4096").unwrap(), 4096);
        assert_eq!(parse_bytes("2K").unwrap(), 2048);
        assert_eq!(parse_bytes("1.5GiB").unwrap(), 3 << 29);
        assert!(parse_bytes("12 parsecs").is_err());
        assert!(parse_bytes("").is_err());
    }
}
