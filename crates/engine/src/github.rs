//! GitHub REST client (filled in by the GitHub work).
