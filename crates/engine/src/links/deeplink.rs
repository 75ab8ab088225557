//! `ferret://` links: what editors, browsers and the tray hand to the desktop app.
//!
//! ```text
//! ferret://search?q=retry+http&repo=api&lang=rust&path=src/&profile=gh-1
//! ferret://open?profile=gh-1&repo=api&path=src/net/retry.rs&line=42
//! ```
//!
//! Links come from anywhere (a web page can fire one), so parsing is strict: the scheme and
//! action must be known, every parameter is percent-decoded once and must be known and
//! appear once, the profile id is validated like any profile id, a file path must be
//! relative with no `..`, `.` or empty component, and a line is a number from 1. Anything
//! else is an error saying what is wrong; a rejected link does nothing.

use std::fmt::Write as _;

use crate::profiles::validate_profile_id;
use crate::{Error, Result};

pub const SCHEME: &str = "ferret";
/// Longer links are refused before parsing.
const MAX_LINK_LEN: usize = 8192;

/// A parsed link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeepLink {
    /// Run a search (in `profile`, else the current one).
    Search {
        query: String,
        repo: Option<String>,
        lang: Option<String>,
        path: Option<String>,
        profile: Option<String>,
    },
    /// Open a file of a repository at a line.
    Open {
        profile: Option<String>,
        repo: String,
        path: String,
        line: u32,
    },
}

impl DeepLink {
    /// Parses and validates a `ferret://` link.
    pub fn parse(link: &str) -> Result<DeepLink> {
        let link = link.trim();
        if link.len() > MAX_LINK_LEN {
            return Err(bad(format!("it is longer than {MAX_LINK_LEN} characters")));
        }
        let (scheme, rest) = link
            .split_once("://")
            .ok_or_else(|| bad("it is not a ferret:// link".into()))?;
        if !scheme.eq_ignore_ascii_case(SCHEME) {
            return Err(bad(format!("the scheme is {scheme:?}, not ferret://")));
        }
        let (target, query) = rest.split_once('?').unwrap_or((rest, ""));
        let query = query.split_once('#').map_or(query, |(q, _)| q);
        let action = target.strip_suffix('/').unwrap_or(target);
        let mut params = Params::parse(query)?;
        let link = match action.to_ascii_lowercase().as_str() {
            "search" => {
                let query = params.take("q")?.unwrap_or_default();
                let repo = params.take("repo")?;
                let lang = params.take("lang")?;
                let path = params.take("path")?;
                let profile = params.take("profile")?;
                if let Some(repo) = &repo {
                    check_word("repo", repo)?;
                }
                if let Some(lang) = &lang {
                    check_word("lang", lang)?;
                }
                if let Some(path) = &path {
                    check_word("path", path)?;
                }
                if query.trim().is_empty() && repo.is_none() && lang.is_none() && path.is_none() {
                    return Err(bad("it has nothing to search for (no q=)".into()));
                }
                DeepLink::Search {
                    query: query.trim().to_string(),
                    repo,
                    lang,
                    path,
                    profile,
                }
            }
            "open" => {
                let profile = params.take("profile")?;
                let repo = params
                    .take("repo")?
                    .ok_or_else(|| bad("it names no repository (repo=)".into()))?;
                check_word("repo", &repo)?;
                let path = params
                    .take("path")?
                    .ok_or_else(|| bad("it names no file (path=)".into()))?;
                validate_relative_path(&path)?;
                let line = match params.take("line")? {
                    None => 1,
                    Some(text) => text
                        .parse::<u32>()
                        .ok()
                        .filter(|&n| n >= 1)
                        .ok_or_else(|| bad(format!("line={text:?} is not a line number")))?,
                };
                DeepLink::Open {
                    profile,
                    repo,
                    path,
                    line,
                }
            }
            other => {
                return Err(bad(format!(
                    "{other:?} is not a Ferret action (use ferret://search or ferret://open)"
                )))
            }
        };
        params.finish()?;
        if let Some(profile) = link.profile() {
            validate_profile_id(profile).map_err(|e| bad(e.to_string()))?;
        }
        Ok(link)
    }

    /// The profile the link names, if any.
    pub fn profile(&self) -> Option<&str> {
        match self {
            DeepLink::Search { profile, .. } | DeepLink::Open { profile, .. } => profile.as_deref(),
        }
    }

    /// For a search: the query as typed in the search box, `q` then its qualifiers
    /// (`retry repo:api lang:rust path:src/`). `None` for other links.
    pub fn search_query(&self) -> Option<String> {
        let DeepLink::Search {
            query,
            repo,
            lang,
            path,
            ..
        } = self
        else {
            return None;
        };
        let mut parts: Vec<String> = Vec::new();
        if !query.is_empty() {
            parts.push(query.clone());
        }
        for (key, value) in [("repo", repo), ("lang", lang), ("path", path)] {
            if let Some(value) = value {
                parts.push(format!("{key}:{value}"));
            }
        }
        Some(parts.join(" "))
    }

    /// The link as a URL; `parse(to_url())` gives the same link back.
    pub fn to_url(&self) -> String {
        let (action, params): (&str, Vec<(&str, Option<String>)>) = match self {
            DeepLink::Search {
                query,
                repo,
                lang,
                path,
                profile,
            } => (
                "search",
                vec![
                    ("q", Some(query.clone())),
                    ("repo", repo.clone()),
                    ("lang", lang.clone()),
                    ("path", path.clone()),
                    ("profile", profile.clone()),
                ],
            ),
            DeepLink::Open {
                profile,
                repo,
                path,
                line,
            } => (
                "open",
                vec![
                    ("profile", profile.clone()),
                    ("repo", Some(repo.clone())),
                    ("path", Some(path.clone())),
                    ("line", Some(line.to_string())),
                ],
            ),
        };
        let mut url = format!("{SCHEME}://{action}");
        let mut sep = '?';
        for (key, value) in params {
            if let Some(value) = value {
                let _ = write!(url, "{sep}{key}={}", percent_encode(&value));
                sep = '&';
            }
        }
        url
    }
}

/// A repository-relative file path that cannot leave the repository: `/`-separated, not
/// absolute, no `..`, `.` or empty components, no backslashes or control characters.
pub fn validate_relative_path(path: &str) -> Result<()> {
    let reason = if path.is_empty() {
        Some("it is empty")
    } else if path.starts_with('/') || path.starts_with('~') {
        Some("it is absolute; paths are relative to the repository")
    } else if path.contains('\\') {
        Some("it contains a backslash")
    } else if path.chars().any(char::is_control) {
        Some("it contains control characters")
    } else if path
        .split('/')
        .any(|c| c.is_empty() || c == "." || c == "..")
    {
        Some("it has an empty, '.' or '..' component")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(Error::InvalidInput(format!(
            "invalid file path {path:?}: {reason}"
        ))),
        None => Ok(()),
    }
}

fn bad(reason: String) -> Error {
    Error::InvalidInput(format!("invalid Ferret link: {reason}"))
}

/// Filter values become one word of the query: no spaces, quotes or control characters.
fn check_word(key: &str, value: &str) -> Result<()> {
    if value.is_empty()
        || value.len() > 512
        || value
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '"')
    {
        return Err(bad(format!(
            "{key}={value:?} must be one word without spaces or quotes"
        )));
    }
    Ok(())
}

/// Decoded query parameters, each taken at most once.
struct Params(Vec<(String, String)>);

impl Params {
    fn parse(query: &str) -> Result<Params> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for part in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = part.split_once('=').unwrap_or((part, ""));
            let key = percent_decode(key)?;
            let value = percent_decode(value)?;
            if value.chars().any(|c| c.is_control() && c != '\t') {
                return Err(bad(format!("{key}= contains control characters")));
            }
            if pairs.iter().any(|(k, _)| *k == key) {
                return Err(bad(format!("{key}= appears more than once")));
            }
            pairs.push((key, value));
        }
        Ok(Params(pairs))
    }

    fn take(&mut self, key: &str) -> Result<Option<String>> {
        Ok(self
            .0
            .iter()
            .position(|(k, _)| k == key)
            .map(|i| self.0.remove(i).1)
            .filter(|v| !v.is_empty()))
    }

    /// Unknown parameters are an error, not silently ignored.
    fn finish(self) -> Result<()> {
        match self.0.first() {
            Some((key, _)) => Err(bad(format!("unknown parameter {key:?}"))),
            None => Ok(()),
        }
    }
}

/// Decodes `%XX` escapes and `+` (a space, as forms encode it) into UTF-8 text.
pub fn percent_decode(text: &str) -> Result<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| bad(format!("{text:?} has a malformed %-escape")))?;
                out.push(hex);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| bad(format!("{text:?} does not decode to UTF-8 text")))
}

/// Escapes everything but RFC 3986's unreserved characters and `/`.
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_links_parse_and_render_the_query() {
        let link = DeepLink::parse(
            "ferret://search?q=retry%20http+requests&repo=acme/api&lang=rust&path=src/&profile=gh-1",
        )
        .unwrap();
        assert_eq!(
            link,
            DeepLink::Search {
                query: "retry http requests".into(),
                repo: Some("acme/api".into()),
                lang: Some("rust".into()),
                path: Some("src/".into()),
                profile: Some("gh-1".into()),
            }
        );
        assert_eq!(
            link.search_query().unwrap(),
            "retry http requests repo:acme/api lang:rust path:src/"
        );
        assert_eq!(link.profile(), Some("gh-1"));
        // Trailing slash, upper-case scheme, a fragment and no profile are fine.
        let link = DeepLink::parse("FERRET://search/?q=%E2%9C%93+x#frag").unwrap();
        assert_eq!(link.search_query().unwrap(), "✓ x");
        assert_eq!(link.profile(), None);
    }

    #[test]
    fn open_links_parse() {
        let link =
            DeepLink::parse("ferret://open?profile=default&repo=api&path=src/a%20b.rs&line=42")
                .unwrap();
        assert_eq!(
            link,
            DeepLink::Open {
                profile: Some("default".into()),
                repo: "api".into(),
                path: "src/a b.rs".into(),
                line: 42,
            }
        );
        assert_eq!(link.search_query(), None);
        let no_line = DeepLink::parse("ferret://open?repo=api&path=README.md").unwrap();
        assert!(matches!(no_line, DeepLink::Open { line: 1, .. }));
    }

    #[test]
    fn links_round_trip() {
        let links = [
            DeepLink::Search {
                query: "a&b=c + d/é \"q\"".into(),
                repo: Some("o/r".into()),
                lang: None,
                path: Some("*.rs".into()),
                profile: None,
            },
            DeepLink::Open {
                profile: Some("gh-42".into()),
                repo: "r".into(),
                path: "dir/name with spaces&#?.rs".into(),
                line: 7,
            },
        ];
        for link in links {
            let url = link.to_url();
            assert!(url.starts_with("ferret://"), "{url}");
            assert!(!url.contains(' '), "{url}");
            assert_eq!(DeepLink::parse(&url).unwrap(), link, "{url}");
        }
    }

    #[test]
    fn hostile_links_are_refused() {
        for (link, needle) in [
            ("https://search?q=x", "scheme"),
            ("javascript://search?q=x", "scheme"),
            ("ferret:search?q=x", "not a ferret:// link"),
            ("ferret://delete?profile=x", "not a Ferret action"),
            ("ferret://user@search?q=x", "not a Ferret action"),
            ("ferret://search", "nothing to search"),
            ("ferret://search?q=%ZZ", "malformed"),
            ("ferret://search?q=%", "malformed"),
            ("ferret://search?q=%FF", "UTF-8"),
            ("ferret://search?q=a%00b", "control"),
            ("ferret://search?q=a&q=b", "more than once"),
            ("ferret://search?q=a&exec=rm", "unknown parameter"),
            ("ferret://search?q=a&profile=../etc", "invalid profile id"),
            ("ferret://search?q=a&profile=Admin", "invalid profile id"),
            ("ferret://search?q=a&repo=x%20repo:y", "one word"),
            ("ferret://open?repo=r&path=../../etc/passwd", "'..'"),
            ("ferret://open?repo=r&path=src/%2e%2e/%2e%2e/x", "'..'"),
            ("ferret://open?repo=r&path=/etc/passwd", "absolute"),
            ("ferret://open?repo=r&path=%2Fetc%2Fpasswd", "absolute"),
            ("ferret://open?repo=r&path=a\\..\\b", "backslash"),
            ("ferret://open?repo=r&path=a//b", "empty"),
            ("ferret://open?repo=r&path=./a", "'.'"),
            ("ferret://open?repo=r&path=a&line=0", "line number"),
            ("ferret://open?repo=r&path=a&line=-3", "line number"),
            ("ferret://open?repo=r&path=a&line=1e3", "line number"),
            (
                "ferret://open?repo=r&path=a&line=99999999999",
                "line number",
            ),
            ("ferret://open?path=a", "no repository"),
            ("ferret://open?repo=r", "no file"),
        ] {
            let err = DeepLink::parse(link).unwrap_err().to_string();
            assert!(
                err.starts_with("invalid Ferret link") || err.starts_with("invalid file path"),
                "{link}: {err}"
            );
            assert!(err.contains(needle), "{link}: {err}");
        }
        let huge = format!("ferret://search?q={}", "a".repeat(MAX_LINK_LEN));
        assert!(DeepLink::parse(&huge).is_err());
    }

    #[test]
    fn relative_paths_are_checked() {
        for good in ["a.rs", "src/lib.rs", "a..b/c", ".github/workflows/ci.yml"] {
            validate_relative_path(good).unwrap();
        }
        for bad in ["", "/a", "~/a", "a/../b", "..", "a/./b", "a/", "a\u{7}b"] {
            assert!(validate_relative_path(bad).is_err(), "{bad:?}");
        }
    }
}
