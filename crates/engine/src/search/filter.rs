//! `repo:`, `lang:`, `path:` and `-path:`: the set of chunks a query may return, computed up
//! front so both rankings apply it before their top-k (a filter never empties a result list
//! that had matches further down).

use std::collections::HashSet;

use crate::pipeline::chunk::Language;
use crate::search::query::{ParsedQuery, PathFilter};
use crate::store::Store;
use crate::{Error, Result};

/// The chunks the query's qualifiers allow, computed up front so both rankings can apply
/// them before their top-k.
pub(super) struct Filter {
    pub(super) chunk_ids: HashSet<i64>,
}

impl Filter {
    pub(super) fn new(store: &Store, q: &ParsedQuery) -> Result<Option<Self>> {
        if q.repos.is_empty()
            && q.langs.is_empty()
            && q.paths.is_empty()
            && q.exclude_paths.is_empty()
        {
            return Ok(None);
        }
        let repos = store.repos()?;
        let mut repo_ids = HashSet::new();
        for wanted in &q.repos {
            let found: Vec<i64> = repos
                .iter()
                .filter(|r| {
                    r.name.eq_ignore_ascii_case(wanted)
                        || r.name
                            .rsplit('/')
                            .next()
                            .is_some_and(|n| n.eq_ignore_ascii_case(wanted))
                })
                .map(|r| r.id)
                .collect();
            if found.is_empty() {
                let names: Vec<&str> = repos.iter().map(|r| r.name.as_str()).collect();
                return Err(Error::InvalidInput(format!(
                    "no repository named {wanted:?}; known: {}",
                    if names.is_empty() {
                        "none (add one with `ferret repo add PATH`)".to_string()
                    } else {
                        names.join(", ")
                    }
                )));
            }
            repo_ids.extend(found);
        }
        let mut langs = HashSet::new();
        for wanted in &q.langs {
            let lang = Language::from_name(wanted).ok_or_else(|| {
                Error::InvalidInput(format!(
                    "unknown language {wanted:?} in lang:; try e.g. lang:rust, lang:python, lang:ts"
                ))
            })?;
            langs.insert(lang.name().to_string());
        }
        let paths = PathFilter::new(&q.paths, &q.exclude_paths)?;

        // Decided per file (a few thousand rows), then the allowed files' chunk ids read
        // from the `chunks_by_file` index alone: at 100k chunks, joining every chunk to its
        // file and matching its path cost more than the search it filtered.
        let conn = store.conn();
        let mut files = conn
            .prepare_cached("SELECT id, repo_id, language, path FROM files")
            .map_err(|e| store.err(e))?;
        let mut rows = files.query([]).map_err(|e| store.err(e))?;
        let mut allowed_files = Vec::new();
        while let Some(row) = rows.next().map_err(|e| store.err(e))? {
            let repo_id: i64 = row.get(1).map_err(|e| store.err(e))?;
            if !repo_ids.is_empty() && !repo_ids.contains(&repo_id) {
                continue;
            }
            let language: String = row.get(2).map_err(|e| store.err(e))?;
            if !langs.is_empty() && !langs.contains(&language) {
                continue;
            }
            if !paths.is_empty() {
                let path: String = row.get(3).map_err(|e| store.err(e))?;
                if !paths.matches(&path) {
                    continue;
                }
            }
            allowed_files.push(row.get::<_, i64>(0).map_err(|e| store.err(e))?);
        }
        let mut chunks_of = conn
            .prepare_cached("SELECT id FROM chunks WHERE file_id = ?1")
            .map_err(|e| store.err(e))?;
        let mut chunk_ids = HashSet::new();
        for file_id in allowed_files {
            let mut rows = chunks_of.query([file_id]).map_err(|e| store.err(e))?;
            while let Some(row) = rows.next().map_err(|e| store.err(e))? {
                chunk_ids.insert(row.get(0).map_err(|e| store.err(e))?);
            }
        }
        Ok(Some(Filter { chunk_ids }))
    }
}
