//! Ferret's integration suites, compiled into one test binary: run one suite with
//! `cargo test -p ferret-tests --test integration engine::` (the module name), or one test
//! by name as usual.

mod durability;
mod engine;
mod fetch;
mod git;
mod github;
mod hostile;
mod profiles;
mod upgrade;
