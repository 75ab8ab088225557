//! The way out to the user's other tools: [`deeplink`] parses and validates `ferret://`
//! links, and [`editor`] opens a search hit in the user's editor at the right line.

pub mod deeplink;
pub mod editor;
