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
    pub(super) chunk_ids: ChunkSet,
}

/// A set of chunk ids kept as sorted, disjoint ranges. A file's chunks are written
/// together, so its ids are nearly always one range: `lang:rust` over 706k chunks is ~15k
/// ranges rather than a hash set of ~400k ids (which took 220 ms to build).
#[derive(Debug, Default)]
pub(super) struct ChunkSet {
    ranges: Vec<(i64, i64)>,
}

impl ChunkSet {
    /// Adds `lo..=hi`; call [`Self::finish`] after the last one.
    fn push(&mut self, lo: i64, hi: i64) {
        self.ranges.push((lo, hi));
    }

    /// Sorts the ranges and merges those that touch or overlap.
    fn finish(&mut self) {
        self.ranges.sort_unstable();
        let mut merged: Vec<(i64, i64)> = Vec::with_capacity(self.ranges.len());
        for &(lo, hi) in &self.ranges {
            match merged.last_mut() {
                Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
                _ => merged.push((lo, hi)),
            }
        }
        self.ranges = merged;
    }

    pub(super) fn contains(&self, id: i64) -> bool {
        let i = self.ranges.partition_point(|&(_, hi)| hi < id);
        self.ranges.get(i).is_some_and(|&(lo, _)| lo <= id)
    }

    pub(super) fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// The lowest and highest id in the set.
    pub(super) fn bounds(&self) -> Option<(i64, i64)> {
        Some((self.ranges.first()?.0, self.ranges.last()?.1))
    }
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
        let (mut allowed_files, mut all_files) = (Vec::new(), 0);
        while let Some(row) = rows.next().map_err(|e| store.err(e))? {
            all_files += 1;
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
        if allowed_files.len() == all_files {
            // `lang:rust` in a Rust-only index: nothing is excluded, and listing every
            // chunk would cost more than the search (0.45 s over 100k files).
            return Ok(None);
        }
        // Per file, its ids as one range when they are contiguous (the index on file_id
        // answers min, max and count without touching the rows); else every id.
        let mut span_of = conn
            .prepare_cached("SELECT min(id), max(id), count(*) FROM chunks WHERE file_id = ?1")
            .map_err(|e| store.err(e))?;
        let mut chunks_of = conn
            .prepare_cached("SELECT id FROM chunks WHERE file_id = ?1")
            .map_err(|e| store.err(e))?;
        let mut chunk_ids = ChunkSet::default();
        for file_id in allowed_files {
            let (lo, hi, n): (Option<i64>, Option<i64>, i64) = span_of
                .query_row([file_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .map_err(|e| store.err(e))?;
            let (Some(lo), Some(hi)) = (lo, hi) else {
                continue;
            };
            if hi - lo + 1 == n {
                chunk_ids.push(lo, hi);
                continue;
            }
            let mut rows = chunks_of.query([file_id]).map_err(|e| store.err(e))?;
            while let Some(row) = rows.next().map_err(|e| store.err(e))? {
                let id = row.get(0).map_err(|e| store.err(e))?;
                chunk_ids.push(id, id);
            }
        }
        chunk_ids.finish();
        Ok(Some(Filter { chunk_ids }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_sets_merge_ranges_and_answer_membership() {
        let mut set = ChunkSet::default();
        for (lo, hi) in [(10, 12), (1, 3), (4, 4), (20, 20), (11, 15)] {
            set.push(lo, hi);
        }
        set.finish();
        assert_eq!(set.ranges, [(1, 4), (10, 15), (20, 20)]);
        assert_eq!(set.bounds(), Some((1, 20)));
        let members: Vec<i64> = (0..22).filter(|&id| set.contains(id)).collect();
        assert_eq!(members, [1, 2, 3, 4, 10, 11, 12, 13, 14, 15, 20]);
        let empty = ChunkSet::default();
        assert!(empty.is_empty() && !empty.contains(0) && empty.bounds().is_none());
    }
}
