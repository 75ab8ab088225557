//! A local GitHub REST API for tests (filled in by the GitHub work).
