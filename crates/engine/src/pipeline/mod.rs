//! The indexing pipeline, one module per stage: [`walk`] finds the files worth indexing,
//! [`chunk`] cuts them into definitions with tree-sitter, [`tokens`] rewrites chunk text
//! into code-aware tokens for the lexical index, [`embed`] turns chunks into vectors with
//! the profile's model, [`source`] reads chunk texts back from their files (the store keeps
//! only byte ranges), and [`run`] drives a whole index run over a repository (walk, diff
//! against the store, chunk, write, embed, keep the vector index in step) with progress and
//! cancellation, at the background CPU priority of [`priority`].

pub mod chunk;
pub mod embed;
pub(crate) mod ignore_rules;
pub mod priority;
pub mod run;
pub mod source;
pub(crate) mod tokens;
pub mod walk;
