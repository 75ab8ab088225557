//! Relevance evaluation: runs a set of natural-language questions with known answers
//! (`tests/eval/cases.jsonl`) against an indexed engine and scores each search mode with
//! recall@1/5/10, mean reciprocal rank and median latency, overall, per kind of question and
//! per repository.
//!
//! Every case carries a `kind` (behaviour, conceptual, identifier: see the eval README) and a
//! `split`. Ranking changes are tuned on the `dev` half and reported on the `check` half, so
//! the figures we quote are not the figures we fitted.
//!
//! Some cases are `unanswerable`: questions about code that is not in their repository. They
//! are left out of recall and MRR and measure the "no strong match" flag instead
//! ([`FlagScore`]): the share of them flagged, against the share of answerable cases
//! flagged, per split and per kind of query.
//!
//! A case lists the places that answer it (path and 1-based inclusive line range). A hit is
//! correct when it has the same path and its line range overlaps one of those ranges, so a
//! chunk that covers part of the right function, or a chunk that contains all of it, counts.
//! Each query runs as `repo:<case.repo> <query>` so cases of different repositories never
//! compete. The scoring arithmetic is pure functions ([`first_correct_rank`],
//! [`score_mode`]) so it is unit tested without a model.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::str::FromStr;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::search::confidence::Evidence;
use crate::search::rank::{query_shape, QueryKind};

mod repos;
use crate::search::{SearchHit, SearchMode, SearchOptions};
use crate::{Engine, Error, Result};
pub use repos::{locate_repos, PIP_VERSION};

/// Hits looked at per query; a correct answer below this rank is a miss.
pub const TOP_K: usize = 10;

/// What a question leans on, which decides which ranking can answer it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CaseKind {
    /// "Where/how does X happen", in plain words, no symbol names.
    Behaviour,
    /// Shares at most one content word with the answer's code: only meaning can find it.
    Conceptual,
    /// Names a symbol, flag, env var or quotes a message.
    Identifier,
}

impl CaseKind {
    pub fn name(self) -> &'static str {
        match self {
            CaseKind::Behaviour => "behaviour",
            CaseKind::Conceptual => "conceptual",
            CaseKind::Identifier => "identifier",
        }
    }
}

/// Which half of the set a case belongs to: tune on `dev`, report `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    Dev,
    Check,
}

impl Split {
    pub fn name(self) -> &'static str {
        match self {
            Split::Dev => "dev",
            Split::Check => "check",
        }
    }
}

impl FromStr for Split {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "dev" => Ok(Split::Dev),
            "check" => Ok(Split::Check),
            other => Err(Error::InvalidInput(format!(
                "unknown split {other:?}: use dev or check (or leave it out for both)"
            ))),
        }
    }
}

/// One question with its acceptable answers.
#[derive(Debug, Clone, Deserialize)]
pub struct EvalCase {
    pub id: String,
    /// Repository name as the eval registers it (see [`locate_repos`]).
    pub repo: String,
    pub kind: CaseKind,
    pub split: Split,
    pub query: String,
    /// Nothing in the repository answers the question: the search should say "no strong
    /// match". Such a case has no expected location.
    #[serde(default)]
    pub unanswerable: bool,
    #[serde(default)]
    pub expect: Vec<Expected>,
}

/// A place that answers a case: repo-relative `/`-separated path, 1-based inclusive lines.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
pub struct Expected {
    pub path: String,
    pub start_line: u32,
    pub end_line: u32,
}

/// The scores of one search mode over all cases.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModeScore {
    pub mode: SearchMode,
    pub recall_at_1: f64,
    pub recall_at_5: f64,
    pub recall_at_10: f64,
    pub mrr: f64,
    /// Median wall time of one search, milliseconds.
    pub p50_ms: f64,
    pub cases: usize,
}

/// The scores of one search mode over the cases of one kind or one repository.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GroupScore {
    /// `kind` or `repo`.
    pub by: String,
    /// The kind's or repository's name.
    pub name: String,
    #[serde(flatten)]
    pub score: ModeScore,
}

/// How one case fared in one mode.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaseResult {
    pub id: String,
    pub repo: String,
    pub kind: CaseKind,
    pub mode: SearchMode,
    /// 1-based rank of the first correct hit within the top [`TOP_K`]; `None` is a miss.
    pub rank: Option<usize>,
    /// The first hit returned, as `path:start-end` (`None` when nothing came back): on a miss,
    /// what the engine preferred to the right answer.
    pub top_hit: Option<String>,
    /// (Fields below are absent from reports saved before the flag existed.)
    #[serde(default)]
    pub split: Option<Split>,
    #[serde(default)]
    pub unanswerable: bool,
    /// The kind of query the ranking stage read ([`query_shape`]).
    #[serde(default)]
    pub query_kind: Option<QueryKind>,
    /// The search said "no strong match"; `None` when the case was not searched (its
    /// repository is not indexed).
    #[serde(default)]
    pub no_strong_match: Option<bool>,
    /// What that decision read.
    #[serde(default)]
    pub evidence: Option<Evidence>,
}

/// How often one mode said "no strong match", over the cases of one split (or `all`) and one
/// kind of query (or `all`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FlagScore {
    pub mode: SearchMode,
    /// `dev`, `check` or `all`.
    pub split: String,
    /// `symbol`, `mixed`, `natural` or `all`.
    pub query_kind: String,
    pub unanswerable: usize,
    pub unanswerable_flagged: usize,
    pub answerable: usize,
    pub answerable_flagged: usize,
}

impl FlagScore {
    /// Share of the unanswerable cases flagged (the goal: high).
    pub fn unanswerable_rate(&self) -> f64 {
        rate(self.unanswerable_flagged, self.unanswerable)
    }

    /// Share of the answerable cases flagged (the goal: low).
    pub fn answerable_rate(&self) -> f64 {
        rate(self.answerable_flagged, self.answerable)
    }
}

fn rate(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// Everything [`run`] measured. Saved as JSON, it is the baseline a later run compares
/// itself with ([`compare`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvalReport {
    /// Recall and MRR over the answerable cases.
    pub modes: Vec<ModeScore>,
    /// Per mode, per kind and per repository.
    pub groups: Vec<GroupScore>,
    /// The "no strong match" flag per mode, split and kind of query. (Absent from reports
    /// saved before it existed.)
    #[serde(default)]
    pub flags: Vec<FlagScore>,
    pub cases: Vec<CaseResult>,
}

/// Reads a JSONL file of cases. Blank lines and lines starting with `#` are skipped; a line
/// that is not a valid case is an error naming the file and line.
pub fn load_cases(path: &Path) -> Result<Vec<EvalCase>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::io(format!("cannot read eval cases {}", path.display()), e))?;
    parse_cases(&text, &path.display().to_string())
}

/// [`load_cases`] on text already read; `origin` names it in errors.
pub fn parse_cases(text: &str, origin: &str) -> Result<Vec<EvalCase>> {
    let mut cases = Vec::new();
    let mut ids = HashSet::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = format!("{origin}:{}", i + 1);
        let case: EvalCase = serde_json::from_str(line)
            .map_err(|e| Error::InvalidInput(format!("{at}: not a valid eval case: {e}")))?;
        if case.unanswerable && !case.expect.is_empty() {
            return Err(Error::InvalidInput(format!(
                "{at}: case {} is unanswerable but lists expected locations: drop one or the other",
                case.id
            )));
        }
        if !case.unanswerable && case.expect.is_empty() {
            return Err(Error::InvalidInput(format!(
                "{at}: case {} has no expected location",
                case.id
            )));
        }
        if let Some(bad) = case
            .expect
            .iter()
            .find(|x| x.start_line == 0 || x.end_line < x.start_line)
        {
            return Err(Error::InvalidInput(format!(
                "{at}: case {} has an invalid line range {}-{} (1-based, start <= end)",
                case.id, bad.start_line, bad.end_line
            )));
        }
        if !ids.insert(case.id.clone()) {
            return Err(Error::InvalidInput(format!(
                "{at}: duplicate case id {}",
                case.id
            )));
        }
        cases.push(case);
    }
    Ok(cases)
}

/// Normalises a repo-relative path for comparison (`./` prefix, `\` separators).
fn norm_path(p: &str) -> &str {
    p.strip_prefix("./").unwrap_or(p)
}

/// Whether a hit at `path` lines `start..=end` answers `expected`: same path, overlapping lines.
pub fn hit_matches(path: &str, start: u32, end: u32, expected: &Expected) -> bool {
    let same_path = norm_path(path).replace('\\', "/") == norm_path(&expected.path);
    same_path && start <= expected.end_line && expected.start_line <= end
}

/// 1-based rank of the first hit (path, start, end) that matches any expected location,
/// looking at the first [`TOP_K`] hits only.
pub fn first_correct_rank<'a, I>(hits: I, expect: &[Expected]) -> Option<usize>
where
    I: IntoIterator<Item = (&'a str, u32, u32)>,
{
    hits.into_iter()
        .take(TOP_K)
        .position(|(path, start, end)| expect.iter().any(|x| hit_matches(path, start, end, x)))
        .map(|i| i + 1)
}

/// Median of `values` (0 when empty); the mean of the middle two for an even count.
pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Recall@1/5/10 and MRR (reciprocal rank, 0 for a miss, averaged) over `ranks`, and the
/// median of `latencies_ms`.
pub fn score_mode(mode: SearchMode, ranks: &[Option<usize>], latencies_ms: &[f64]) -> ModeScore {
    let n = ranks.len();
    let recall = |k: usize| {
        if n == 0 {
            0.0
        } else {
            ranks.iter().filter(|r| r.is_some_and(|r| r <= k)).count() as f64 / n as f64
        }
    };
    let mrr = if n == 0 {
        0.0
    } else {
        ranks
            .iter()
            .map(|r| r.map_or(0.0, |r| 1.0 / r as f64))
            .sum::<f64>()
            / n as f64
    };
    ModeScore {
        mode,
        recall_at_1: recall(1),
        recall_at_5: recall(5),
        recall_at_10: recall(TOP_K),
        mrr,
        p50_ms: median(latencies_ms),
        cases: n,
    }
}

fn describe_hit(hit: &SearchHit) -> String {
    format!("{}:{}-{}", hit.path, hit.start_line, hit.end_line)
}

/// Runs every case in every mode against an already-indexed engine. Each query is run as
/// `repo:<case.repo> <query>` so cases of different repos do not compete. Cases whose
/// repository is not in the profile are not searched and count as misses.
pub fn run(engine: &Engine, cases: &[EvalCase], modes: &[SearchMode]) -> Result<EvalReport> {
    let indexed: HashSet<String> = engine.repos()?.into_iter().map(|r| r.name).collect();
    let mut results = Vec::with_capacity(cases.len() * modes.len());
    let mut latencies: Vec<(SearchMode, f64)> = Vec::new();
    for &mode in modes {
        let opts = SearchOptions { limit: TOP_K, mode };
        for case in cases {
            let mut result = CaseResult {
                id: case.id.clone(),
                repo: case.repo.clone(),
                kind: case.kind,
                mode,
                rank: None,
                top_hit: None,
                split: Some(case.split),
                unanswerable: case.unanswerable,
                query_kind: Some(query_shape(&case.query).kind),
                no_strong_match: None,
                evidence: None,
            };
            if indexed.contains(&case.repo) {
                let query = format!("repo:{} {}", case.repo, case.query);
                let started = Instant::now();
                let found = engine.search(&query, &opts)?;
                latencies.push((mode, started.elapsed().as_secs_f64() * 1000.0));
                result.rank = first_correct_rank(
                    found
                        .hits
                        .iter()
                        .map(|h| (h.path.as_str(), h.start_line, h.end_line)),
                    &case.expect,
                );
                result.top_hit = found.hits.first().map(describe_hit);
                result.no_strong_match = Some(found.no_strong_match);
                result.evidence = found.evidence;
            }
            results.push(result);
        }
    }
    Ok(summarise(modes, results, &latencies))
}

/// Scores per mode, and per mode and kind, and per mode and repository, from case results
/// (recall and MRR over the answerable cases), and the flag's rates ([`flag_scores`]).
pub fn summarise(
    modes: &[SearchMode],
    cases: Vec<CaseResult>,
    latencies: &[(SearchMode, f64)],
) -> EvalReport {
    let mut report = EvalReport {
        modes: Vec::new(),
        groups: Vec::new(),
        flags: flag_scores(modes, &cases),
        cases: Vec::new(),
    };
    for &mode in modes {
        let of_mode: Vec<&CaseResult> = cases
            .iter()
            .filter(|c| c.mode == mode && !c.unanswerable)
            .collect();
        let times: Vec<f64> = latencies
            .iter()
            .filter(|(m, _)| *m == mode)
            .map(|(_, t)| *t)
            .collect();
        let ranks: Vec<Option<usize>> = of_mode.iter().map(|c| c.rank).collect();
        report.modes.push(score_mode(mode, &ranks, &times));
        let mut by_kind: BTreeMap<&str, Vec<Option<usize>>> = BTreeMap::new();
        let mut by_repo: BTreeMap<&str, Vec<Option<usize>>> = BTreeMap::new();
        for c in &of_mode {
            by_kind.entry(c.kind.name()).or_default().push(c.rank);
            by_repo.entry(c.repo.as_str()).or_default().push(c.rank);
        }
        for (by, groups) in [("kind", by_kind), ("repo", by_repo)] {
            for (name, ranks) in groups {
                report.groups.push(GroupScore {
                    by: by.to_string(),
                    name: name.to_string(),
                    score: score_mode(mode, &ranks, &[]),
                });
            }
        }
    }
    report.cases = cases;
    report
}

/// The "no strong match" flag's rates per mode and split (`all` too when the cases hold
/// both), over all kinds of query and per kind. Groups without searched cases are left out.
pub fn flag_scores(modes: &[SearchMode], cases: &[CaseResult]) -> Vec<FlagScore> {
    let present: Vec<Split> = [Split::Dev, Split::Check]
        .into_iter()
        .filter(|s| cases.iter().any(|c| c.split == Some(*s)))
        .collect();
    let mut splits: Vec<Option<Split>> = present.iter().copied().map(Some).collect();
    if present.len() > 1 {
        splits.push(None);
    }
    let kinds = [
        None,
        Some(QueryKind::Symbol),
        Some(QueryKind::Mixed),
        Some(QueryKind::Natural),
    ];
    let mut out = Vec::new();
    for &mode in modes {
        for &split in &splits {
            for kind in kinds {
                let mut score = FlagScore {
                    mode,
                    split: split.map_or("all", Split::name).to_string(),
                    query_kind: kind.map_or("all", QueryKind::as_str).to_string(),
                    unanswerable: 0,
                    unanswerable_flagged: 0,
                    answerable: 0,
                    answerable_flagged: 0,
                };
                let chosen = cases.iter().filter(|c| {
                    c.mode == mode
                        && split.is_none_or(|s| c.split == Some(s))
                        && kind.is_none_or(|k| c.query_kind == Some(k))
                });
                for c in chosen {
                    let Some(flagged) = c.no_strong_match else {
                        continue;
                    };
                    let (total, hits) = if c.unanswerable {
                        (&mut score.unanswerable, &mut score.unanswerable_flagged)
                    } else {
                        (&mut score.answerable, &mut score.answerable_flagged)
                    };
                    *total += 1;
                    *hits += usize::from(flagged);
                }
                if score.unanswerable + score.answerable > 0 {
                    out.push(score);
                }
            }
        }
    }
    out
}

/// A case whose rank in one mode moved between two runs.
#[derive(Debug, Clone, Serialize)]
pub struct RankChange {
    pub id: String,
    pub mode: SearchMode,
    pub before: Option<usize>,
    pub after: Option<usize>,
}

/// What changed from `before` to `after`: the cases whose rank moved in some mode, worst
/// first (a lost hit, then a drop, then gains), for reading a change's cost as well as its
/// win. Cases only one run has are ignored.
pub fn compare(before: &EvalReport, after: &EvalReport) -> Vec<RankChange> {
    let old: std::collections::HashMap<(&str, SearchMode), Option<usize>> = before
        .cases
        .iter()
        .map(|c| ((c.id.as_str(), c.mode), c.rank))
        .collect();
    let mut changes: Vec<RankChange> = after
        .cases
        .iter()
        .filter_map(|c| {
            let was = *old.get(&(c.id.as_str(), c.mode))?;
            (was != c.rank).then(|| RankChange {
                id: c.id.clone(),
                mode: c.mode,
                before: was,
                after: c.rank,
            })
        })
        .collect();
    // Reciprocal-rank delta: negative is a loss.
    let delta = |c: &RankChange| {
        let rr = |r: Option<usize>| r.map_or(0.0, |r| 1.0 / r as f64);
        rr(c.after) - rr(c.before)
    };
    changes.sort_by(|a, b| delta(a).total_cmp(&delta(b)).then(a.id.cmp(&b.id)));
    changes
}

/// One ranking's candidates for a case, for studying fusion offline: each single mode's
/// top hits with their raw scores, and which of them are correct.
#[derive(Debug, Clone, Serialize)]
pub struct CaseCandidates {
    pub id: String,
    pub repo: String,
    pub kind: CaseKind,
    pub split: Split,
    pub query: String,
    pub lexical: Vec<Candidate>,
    pub semantic: Vec<Candidate>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Candidate {
    /// `path#symbol` (or `path:start-end` for code outside a definition): the windows of one
    /// definition share it, as they share a result row.
    pub key: String,
    pub symbol: Option<String>,
    pub path: String,
    pub start_line: u32,
    pub end_line: u32,
    pub score: f64,
    pub correct: bool,
}

/// The top `depth` hits of the lexical and the semantic ranking for every case.
pub fn candidates(
    engine: &Engine,
    cases: &[EvalCase],
    depth: usize,
) -> Result<Vec<CaseCandidates>> {
    let mut out = Vec::with_capacity(cases.len());
    for case in cases {
        let query = format!("repo:{} {}", case.repo, case.query);
        let list = |mode| -> Result<Vec<Candidate>> {
            let found = engine.search(&query, &SearchOptions { limit: depth, mode })?;
            Ok(found
                .hits
                .iter()
                .map(|h| Candidate {
                    key: match &h.symbol {
                        Some(symbol) => format!("{}#{symbol}", h.path),
                        None => describe_hit(h),
                    },
                    symbol: h.symbol.clone(),
                    path: h.path.clone(),
                    start_line: h.start_line,
                    end_line: h.end_line,
                    score: h.score,
                    correct: case
                        .expect
                        .iter()
                        .any(|x| hit_matches(&h.path, h.start_line, h.end_line, x)),
                })
                .collect())
        };
        out.push(CaseCandidates {
            id: case.id.clone(),
            repo: case.repo.clone(),
            kind: case.kind,
            split: case.split,
            query: case.query.clone(),
            lexical: list(SearchMode::Lexical)?,
            semantic: list(SearchMode::Semantic)?,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
