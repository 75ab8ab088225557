//! The way out to the user's other tools: [`deeplink`] parses and validates `ferret://`
//! links, [`editor`] opens a search hit in the user's editor at the right line, and
//! [`agents`] writes the configuration that connects a coding agent to `ferret mcp`.

pub mod agents;
pub mod deeplink;
pub mod editor;
