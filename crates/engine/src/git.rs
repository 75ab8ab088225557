//! git2 clone and fetch over HTTPS with token auth (filled in by the git work).
