//! A smart-HTTP git server for tests (filled in by the git work).
