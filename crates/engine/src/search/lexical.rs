//! The lexical ranking: BM25 over the FTS5 table, with a bounded amount of work per query.
//!
//! FTS5 computes `bm25()` for every row a `MATCH` accepts before `ORDER BY … LIMIT` keeps
//! the best, and a row costs about 1.5 µs to score (its position lists and its length from
//! `chunks_fts_docsize`). An OR of common words over a big index accepts most of it: at
//! 706k real chunks `error handling when the file does not exist` scored 119k rows
//! (136 ms), and on a million chunks of a 55-word vocabulary every query took ~700 ms.
//! Listing the matching rowids without scoring costs ~0.2 µs a row.
//!
//! So a query first counts its matches, cheaply and only up to the budget. At or under
//! [`scan_budget`] rows (nearly every query on indexes up to ~100k chunks) it is ranked
//! exactly as before. Over it, the query is broad and the work is bounded in tiers, each
//! ranked by the same BM25:
//! 1. **every word** (AND): rows with all the free words, when there are two or more words
//!    and their intersection fits the budget (FTS5 intersects by seeking, so this is cheap
//!    even for common words). The usual winner: a row with every word outranks most rows
//!    with some of them.
//! 2. **the rarer words** (term caps): the OR of the words that match few rows, rarest first
//!    while their matches fit what is left of the budget. A word matching more rows than the
//!    budget is left out of this tier; on a big index its BM25 weight is small anyway
//!    (FTS5's IDF is ~0 for a word in half the rows).
//! 3. **newest matches** (early termination): the whole OR, scanned from the newest rowid
//!    down until the budget is spent. Newest is the rows indexed last: files changed since
//!    the first index and the repository added last.
//!
//! Tiers are kept in this order and fill the list up to `limit`; each ranks within itself.

use std::sync::OnceLock;

use crate::search::filter::Filter;
use crate::search::query::{LexicalQuery, ParsedQuery};
use crate::store::Store;
use crate::Result;

/// Rows a query may score before it counts as broad, and the most a broad query scores in
/// all (about 15 ms of BM25 on the 2-core reference machine). `FERRET_LEXICAL_SCAN_BUDGET`
/// overrides it, for measuring the tiers on small indexes (`ferret eval` with a low
/// budget sends most questions through them).
pub fn scan_budget() -> usize {
    static BUDGET: OnceLock<usize> = OnceLock::new();
    *BUDGET.get_or_init(|| {
        std::env::var("FERRET_LEXICAL_SCAN_BUDGET")
            .ok()
            .and_then(|v| v.parse().ok())
            .filter(|&n| n > 0)
            .unwrap_or(10_000)
    })
}

/// Column weights for `bm25()`: symbol hits weigh most, then path, then body.
const SCORE: &str = "bm25(chunks_fts, 4.0, 2.0, 1.0)";

/// BM25 over the FTS5 table for `q`'s free text: at most `limit` (chunk id, score) pairs,
/// best first, only chunks `filter` allows.
pub(super) fn lexical_ranking(
    store: &Store,
    q: &ParsedQuery,
    filter: Option<&Filter>,
    limit: usize,
) -> Result<Vec<(i64, f64)>> {
    ranking_within(store, q, filter, limit, scan_budget())
}

/// [`lexical_ranking`] with the scan budget given.
fn ranking_within(
    store: &Store,
    q: &ParsedQuery,
    filter: Option<&Filter>,
    limit: usize,
    budget: usize,
) -> Result<Vec<(i64, f64)>> {
    let Some(query) = LexicalQuery::new(q) else {
        return Ok(Vec::new());
    };
    let scan = Scanner::new(store, filter);
    let any = query.any();
    if scan.count(&any, budget)?.is_some() {
        return scan.exact(&any, limit);
    }

    let mut ranked = Tiers::new(limit, budget);
    let terms: Vec<&String> = query.terms().iter().collect();
    if terms.len() >= 2 {
        let all = query.all();
        if let Some(n) = scan.count(&all, ranked.budget)? {
            if n > 0 {
                ranked.add(scan.newest(&all, ranked.budget)?);
            }
        }
        if ranked.wants_more() {
            // Rarest first, while their matches together fit what is left.
            let mut counted = Vec::new();
            for &term in &terms {
                if let Some(n) = scan.count(&query.any_of(&[term]), ranked.budget)? {
                    counted.push((n, term));
                }
            }
            counted.sort();
            let mut rare = Vec::new();
            let mut total = 0;
            for (n, term) in counted {
                if n == 0 || total + n > ranked.budget {
                    continue;
                }
                total += n;
                rare.push(term);
            }
            if !rare.is_empty() && rare.len() < terms.len() {
                ranked.add(scan.newest(&query.any_of(&rare), ranked.budget)?);
            }
        }
    }
    if ranked.wants_more() {
        ranked.add(scan.newest(&any, ranked.budget)?);
    }
    Ok(ranked.hits)
}

/// The tiers of a broad query, concatenated: a chunk keeps its first (higher) tier.
struct Tiers {
    hits: Vec<(i64, f64)>,
    seen: std::collections::HashSet<i64>,
    limit: usize,
    /// Rows that may still be scored.
    budget: usize,
}

impl Tiers {
    fn new(limit: usize, budget: usize) -> Self {
        Tiers {
            hits: Vec::new(),
            seen: Default::default(),
            limit,
            budget,
        }
    }

    fn wants_more(&self) -> bool {
        self.hits.len() < self.limit && self.budget > 0
    }

    /// Appends one tier's rows, best first. `scored` is what the scan cost.
    fn add(&mut self, (mut rows, scored): (Vec<(i64, f64)>, usize)) {
        self.budget = self.budget.saturating_sub(scored);
        rows.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        for (id, score) in rows {
            if self.hits.len() >= self.limit {
                break;
            }
            if self.seen.insert(id) {
                self.hits.push((id, score));
            }
        }
    }
}

/// Runs FTS5 queries for one search, keeping only the rows the filter allows.
struct Scanner<'a> {
    store: &'a Store,
    filter: Option<&'a Filter>,
    /// The filter's lowest and highest chunk id: FTS5 seeks to a rowid range, so a
    /// `repo:` or `path:` filter (whose chunks were mostly written together) skips the rest.
    rowids: (i64, i64),
}

impl<'a> Scanner<'a> {
    fn new(store: &'a Store, filter: Option<&'a Filter>) -> Self {
        let rowids = filter
            .and_then(|f| f.chunk_ids.bounds())
            .unwrap_or((i64::MIN, i64::MAX));
        Scanner {
            store,
            filter,
            rowids,
        }
    }

    fn allows(&self, id: i64) -> bool {
        self.filter.is_none_or(|f| f.chunk_ids.contains(id))
    }

    /// How many allowed rows match `expr`, or `None` when more than `cap` do. Lists rowids
    /// without scoring them, and stops at `cap + 1` allowed rows or `2 * cap` rows read (a
    /// narrow filter over a broad query: the exact ranking would score every row read).
    fn count(&self, expr: &str, cap: usize) -> Result<Option<usize>> {
        let store = self.store;
        let mut stmt = store
            .conn()
            .prepare_cached(
                "SELECT rowid FROM chunks_fts
                 WHERE chunks_fts MATCH ?1 AND rowid BETWEEN ?2 AND ?3",
            )
            .map_err(|e| store.err(e))?;
        let mut rows = stmt
            .query(rusqlite::params![expr, self.rowids.0, self.rowids.1])
            .map_err(|e| store.err(e))?;
        let (mut allowed, mut read) = (0, 0);
        while let Some(row) = rows.next().map_err(|e| store.err(e))? {
            read += 1;
            if self.allows(row.get(0).map_err(|e| store.err(e))?) {
                allowed += 1;
            }
            if allowed > cap || read > cap.saturating_mul(2) {
                return Ok(None);
            }
        }
        Ok(Some(allowed))
    }

    /// The best `limit` allowed rows of a query known to be narrow, ranked in SQL as they
    /// always were (ties keep SQLite's order). With a filter, every match in its id range is
    /// ranked and the allowed kept, so the filter applies before the top-k cut.
    fn exact(&self, expr: &str, limit: usize) -> Result<Vec<(i64, f64)>> {
        let store = self.store;
        let mut stmt = store
            .conn()
            .prepare_cached(&format!(
                "SELECT rowid, {SCORE} AS s FROM chunks_fts
                 WHERE chunks_fts MATCH ?1 AND rowid BETWEEN ?2 AND ?3 ORDER BY s LIMIT ?4"
            ))
            .map_err(|e| store.err(e))?;
        let sql_limit = if self.filter.is_none() {
            limit as i64
        } else {
            -1
        };
        let mut rows = stmt
            .query(rusqlite::params![
                expr,
                self.rowids.0,
                self.rowids.1,
                sql_limit
            ])
            .map_err(|e| store.err(e))?;
        let mut out = Vec::new();
        while out.len() < limit {
            let Some(row) = rows.next().map_err(|e| store.err(e))? else {
                break;
            };
            let id: i64 = row.get(0).map_err(|e| store.err(e))?;
            if self.allows(id) {
                out.push((id, -row.get::<_, f64>(1).map_err(|e| store.err(e))?));
            }
        }
        Ok(out)
    }

    /// Scores matches of `expr` from the newest rowid down, at most `budget` rows; returns
    /// the allowed ones (unsorted) and how many rows were scored.
    fn newest(&self, expr: &str, budget: usize) -> Result<(Vec<(i64, f64)>, usize)> {
        let store = self.store;
        let mut stmt = store
            .conn()
            .prepare_cached(&format!(
                "SELECT rowid, {SCORE} FROM chunks_fts
                 WHERE chunks_fts MATCH ?1 AND rowid BETWEEN ?2 AND ?3
                 ORDER BY rowid DESC LIMIT ?4"
            ))
            .map_err(|e| store.err(e))?;
        let mut rows = stmt
            .query(rusqlite::params![
                expr,
                self.rowids.0,
                self.rowids.1,
                budget as i64
            ])
            .map_err(|e| store.err(e))?;
        let (mut out, mut scored) = (Vec::new(), 0);
        while let Some(row) = rows.next().map_err(|e| store.err(e))? {
            scored += 1;
            let id: i64 = row.get(0).map_err(|e| store.err(e))?;
            if self.allows(id) {
                out.push((id, -row.get::<_, f64>(1).map_err(|e| store.err(e))?));
            }
        }
        Ok((out, scored))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::query::parse_query;
    use crate::store::NewChunk;

    /// A store with two files: `a.rs` holds 30 chunks with "common" (ids 1-30; 3 and 7 also
    /// say "rare"), `b.rs` 10 more with "common" (31-40; 35 also "rare") and one with
    /// "rare" alone (41).
    fn corpus() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(&dir.path().join("meta.sqlite")).unwrap();
        let repo = store.add_repo("demo", dir.path(), "local").unwrap();
        let chunk = |i: u32, body: String| NewChunk {
            start_line: i,
            end_line: i,
            symbol: None,
            kind: "block".into(),
            content_hash: vec![i as u8; 16],
            start_byte: 0,
            byte_len: 1,
            body_tokens: body,
            symbol_tokens: String::new(),
        };
        store
            .transaction(|tx| {
                let a = tx.upsert_file(repo.id, "a.rs", "rust", 1, 1, b"a")?;
                let chunks: Vec<NewChunk> = (1..=30)
                    .map(|i| {
                        let extra = if i == 3 || i == 7 { " rare" } else { "" };
                        chunk(i, format!("common filler{i}{extra}"))
                    })
                    .collect();
                tx.insert_chunks(a, "a rs", &chunks)?;
                let b = tx.upsert_file(repo.id, "b.rs", "rust", 1, 1, b"b")?;
                let mut chunks: Vec<NewChunk> = (31..=40)
                    .map(|i| {
                        let extra = if i == 35 { " rare" } else { "" };
                        chunk(i, format!("common filler{i}{extra}"))
                    })
                    .collect();
                // Long, so that it ranks below the short rows with both words.
                let long = "rare alone among very many other words that dilute it".repeat(3);
                chunks.push(chunk(41, long));
                tx.insert_chunks(b, "b rs", &chunks)?;
                Ok(())
            })
            .unwrap();
        (dir, store)
    }

    fn rank(store: &Store, query: &str, limit: usize, budget: usize) -> Vec<i64> {
        let q = parse_query(query).unwrap();
        let filter = Filter::new(store, &q).unwrap();
        ranking_within(store, &q, filter.as_ref(), limit, budget)
            .unwrap()
            .into_iter()
            .map(|(id, _)| id)
            .collect()
    }

    #[test]
    fn narrow_queries_rank_every_match() {
        let (_dir, store) = corpus();
        let ids = rank(&store, "common rare", 100, 1000);
        assert_eq!(ids.len(), 41, "every match, within the budget");
        let mut top: Vec<i64> = ids[..3].to_vec();
        top.sort();
        assert_eq!(top, [3, 7, 35], "both words outrank one");
        assert_eq!(rank(&store, "common rare", 5, 1000).len(), 5);
    }

    #[test]
    fn broad_queries_take_every_word_then_rare_words_then_the_newest() {
        let (_dir, store) = corpus();
        // 41 matches over a budget of 10: the 3 rows with both words (3 scored), then "rare"
        // (4 matches, fits the 7 left; 41 is new), then the newest of the OR with the 3 left.
        let ids = rank(&store, "common rare", 100, 10);
        let mut both = ids[..3].to_vec();
        both.sort();
        assert_eq!(both, [3, 7, 35]);
        assert_eq!(ids[3], 41);
        let mut newest = ids[4..].to_vec();
        newest.sort();
        assert_eq!(newest, [39, 40], "the newest rows, 41 already taken");
        // One broad word: only the newest rows, as many as the budget scores.
        let mut one = rank(&store, "common", 100, 10);
        one.sort();
        assert_eq!(one, (31..=40).collect::<Vec<_>>());
        // A limit below the first tier stops there.
        assert_eq!(rank(&store, "common rare", 2, 10).len(), 2);
    }

    #[test]
    fn filters_apply_to_every_tier() {
        let (_dir, store) = corpus();
        // b.rs: ids 31-41. Narrow and broad alike return only its rows.
        for budget in [1000, 4] {
            let ids = rank(&store, "path:b.rs common rare", 100, budget);
            assert!(!ids.is_empty());
            assert!(
                ids.iter().all(|id| (31..=41).contains(id)),
                "{budget}: {ids:?}"
            );
            assert_eq!(ids[0], 35, "{budget}: the row with both words");
        }
        assert!(rank(&store, "path:a.rs alone", 100, 1000).is_empty());
        // A qualifier that excludes nothing is no filter.
        let q = parse_query("lang:rust common").unwrap();
        assert!(Filter::new(&store, &q).unwrap().is_none());
        assert_eq!(rank(&store, "lang:rust common", 100, 1000).len(), 40);
    }
}
