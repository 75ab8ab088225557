//! The `ferret` binary's suites, compiled into one test binary: run one with
//! `cargo test -p ferret-cli --test cli daemon::` (the module name).

mod accounts;
mod cli;
mod common;
mod daemon;
mod search;
