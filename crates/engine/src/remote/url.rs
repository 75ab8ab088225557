//! Remote URLs Ferret accepts: `https://`, and `http://` only for loopback hosts (what tests
//! use), never with credentials in them.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::error::{Error, Result};

/// The parts of a remote URL this module needs.
pub(crate) struct RemoteUrl {
    /// `host` or `host:port`, for messages.
    pub(crate) host: String,
    /// The host is this machine (plain HTTP is allowed only then).
    pub(crate) loopback: bool,
}

/// Accepts `https://` URLs, and `http://` only for loopback hosts (127.0.0.0/8, `localhost`,
/// `[::1]`), which is what tests use. Everything else, and any URL with `user:pass@`, is refused.
pub fn validate_remote_url(url: &str) -> Result<()> {
    parse_remote_url(url).map(|_| ())
}

pub(crate) fn parse_remote_url(url: &str) -> Result<RemoteUrl> {
    let refuse = |why: &str| {
        Error::InvalidInput(format!(
            "cannot use {url:?} as a repository URL: {why}; Ferret clones over HTTPS only \
             (for example https://github.com/owner/name.git)"
        ))
    };
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(refuse("it contains spaces or control characters"));
    }
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(refuse("it is not an https:// URL"));
    };
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "https" && scheme != "http" {
        return Err(refuse(&format!("the {scheme}:// scheme is not supported")));
    }
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    if authority.contains('@') {
        return Err(refuse(
            "it contains a user name or password; give the token separately, never in the URL",
        ));
    }
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        let Some((host, after)) = bracketed.split_once(']') else {
            return Err(refuse("its IPv6 address has no closing ']'"));
        };
        if host.parse::<Ipv6Addr>().is_err() {
            return Err(refuse("its IPv6 address is not valid"));
        }
        match after {
            "" => (host, None),
            _ => match after.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None => return Err(refuse("it has text after the IPv6 address")),
            },
        }
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(refuse("it names no host"));
    }
    if !host
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'))
    {
        return Err(refuse("its host name is not valid"));
    }
    if let Some(port) = port {
        if port.is_empty() || port.len() > 5 || !port.chars().all(|c| c.is_ascii_digit()) {
            return Err(refuse("its port is not a number"));
        }
        if !port.parse::<u16>().is_ok_and(|p| p != 0) {
            return Err(refuse("its port is out of range"));
        }
    }
    if path.trim_matches('/').is_empty() || path.starts_with(['?', '#']) {
        return Err(refuse(
            "it names no repository (expected .../owner/name.git)",
        ));
    }
    let host_lower = host.to_ascii_lowercase();
    let loopback = host_lower == "localhost"
        || host_lower
            .parse::<Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
        || host_lower
            .parse::<Ipv6Addr>()
            .is_ok_and(|ip| ip.is_loopback());
    if scheme == "http" && !loopback {
        return Err(refuse(
            "plain http:// would send the token unencrypted (it is allowed only for this machine)",
        ));
    }
    let host = match port {
        Some(port) => format!("{}:{port}", authority_host_display(host, authority)),
        None => authority_host_display(host, authority),
    };
    Ok(RemoteUrl { host, loopback })
}

/// The host as written in the URL (IPv6 keeps its brackets).
fn authority_host_display(host: &str, authority: &str) -> String {
    if authority.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}
