//! Code that lives elsewhere: [`github`] lists a user's repositories through the REST API
//! (with a configurable base URL for GitHub Enterprise), and [`git`] clones and
//! fast-forwards them over smart HTTP with the profile's token.

pub mod git;
pub mod github;
pub mod url;
