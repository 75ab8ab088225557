//! The query language, after GitHub code search: free words, `"exact phrases"`, and the
//! qualifiers `repo:`, `lang:`/`language:`, `path:`/`file:` and `-path:`. Unknown `foo:bar`
//! stays free text, since people search for `std::io` or `http://`.
//!
//! Also here: turning the free text into safe FTS5 `MATCH` expressions ([`LexicalQuery`]).
//! Every token is quoted, so nothing a user types can become FTS5 syntax (`NEAR`, `*`,
//! column filters, parentheses), and natural-language questions drop their stop words and
//! combine the rest with OR so BM25 can rank partial matches.

use globset::{GlobBuilder, GlobMatcher};

use crate::pipeline::tokens::split_identifier;
use crate::{Error, Result};

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ParsedQuery {
    /// Free text and phrases without qualifiers: what the semantic side embeds.
    pub text: String,
    /// Free words as typed (phrases excluded).
    pub terms: Vec<String>,
    /// Contents of `"..."`.
    pub phrases: Vec<String>,
    pub repos: Vec<String>,
    pub langs: Vec<String>,
    pub paths: Vec<String>,
    pub exclude_paths: Vec<String>,
}

impl ParsedQuery {
    /// The same query with its quoted phrases read as free words (`"config" not set` as
    /// `config not set`).
    pub fn without_phrases(&self) -> ParsedQuery {
        let mut loose = self.clone();
        for phrase in std::mem::take(&mut loose.phrases) {
            loose
                .terms
                .extend(phrase.split_whitespace().map(str::to_string));
        }
        loose
    }
}

/// English words that carry no meaning for code search. Dropped from the lexical query only
/// (the semantic side sees the whole question).
const STOP_WORDS: &[&str] = &[
    "a",
    "about",
    "an",
    "and",
    "are",
    "as",
    "at",
    "be",
    "by",
    "can",
    "do",
    "does",
    "for",
    "from",
    "has",
    "have",
    "how",
    "i",
    "if",
    "in",
    "into",
    "is",
    "it",
    "its",
    "me",
    "of",
    "on",
    "or",
    "so",
    "that",
    "the",
    "their",
    "them",
    "there",
    "this",
    "to",
    "what",
    "when",
    "where",
    "which",
    "who",
    "why",
    "will",
    "with",
    "you",
    "we",
    "our",
    "code",
    "function",
    "method",
    "implemented",
    "implementation",
    "happens",
    "should",
    "would",
    "does",
    "did",
];

/// Whether `word` is an English stop word (dropped from lexical matching and highlights).
pub fn is_stop_word(word: &str) -> bool {
    STOP_WORDS.contains(&word.to_lowercase().as_str())
}

/// One lexeme of the query line.
enum Lexeme {
    Word(String),
    Phrase(String),
}

/// Splits on whitespace, keeping `"..."` together (`\"` escapes a quote; an unterminated
/// quote takes the rest of the line). A quote inside a word (`path:"my dir"`) continues it.
fn lex(input: &str) -> Vec<Lexeme> {
    let mut out = Vec::new();
    let mut chars = input.chars().peekable();
    let mut word = String::new();
    let mut quoted_in_word = false;
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                let mut text = String::new();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' if chars.peek() == Some(&'"') => {
                            text.push(chars.next().unwrap_or('"'))
                        }
                        '"' => break,
                        c => text.push(c),
                    }
                }
                if word.is_empty() && !quoted_in_word {
                    if !text.trim().is_empty() {
                        out.push(Lexeme::Phrase(text));
                    }
                } else {
                    word.push_str(&text);
                    quoted_in_word = true;
                }
            }
            c if c.is_whitespace() => {
                if !word.is_empty() || quoted_in_word {
                    out.push(Lexeme::Word(std::mem::take(&mut word)));
                }
                quoted_in_word = false;
            }
            c => word.push(c),
        }
    }
    if !word.is_empty() || quoted_in_word {
        out.push(Lexeme::Word(word));
    }
    out
}

pub fn parse_query(input: &str) -> Result<ParsedQuery> {
    let mut q = ParsedQuery::default();
    let mut text_parts = Vec::new();
    for lexeme in lex(input) {
        let word = match lexeme {
            Lexeme::Phrase(p) => {
                text_parts.push(p.clone());
                q.phrases.push(p);
                continue;
            }
            Lexeme::Word(w) => w,
        };
        let (negated, body) = match word.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, word.as_str()),
        };
        let qualifier = body.split_once(':').and_then(|(key, value)| {
            let key = key.to_ascii_lowercase();
            // `file::open` or `path::join` is code, not a qualifier.
            (matches!(key.as_str(), "repo" | "lang" | "language" | "path" | "file")
                && !value.starts_with(':'))
            .then(|| (key, value.to_string()))
        });
        let Some((key, value)) = qualifier else {
            text_parts.push(word.clone());
            q.terms.push(word);
            continue;
        };
        if value.trim().is_empty() {
            let example = match key.as_str() {
                "repo" => "repo:ripgrep",
                "lang" | "language" => "lang:rust",
                _ => "path:src/",
            };
            return Err(Error::InvalidInput(format!(
                "{key}: needs a value, e.g. {example}"
            )));
        }
        match (key.as_str(), negated) {
            ("path" | "file", false) => q.paths.push(value),
            ("path" | "file", true) => q.exclude_paths.push(value),
            (_, true) => {
                return Err(Error::InvalidInput(format!(
                    "-{key}: is not supported; only -path: can exclude"
                )))
            }
            ("repo", false) => q.repos.push(value),
            (_, false) => q.langs.push(value),
        }
    }
    q.text = text_parts.join(" ");
    Ok(q)
}

/// Quotes one token for FTS5 (tokens are alphanumeric already; quoting makes sure).
fn quote(token: &str) -> String {
    format!("\"{}\"", token.replace('"', "\"\""))
}

/// The FTS5 expression for one free word: its parts must all match, or its joined form.
fn term_expression(term: &str) -> Option<String> {
    let mut alternatives = Vec::new();
    for word in crate::pipeline::tokens::words(term) {
        let parts = split_identifier(word);
        let expr = if parts.len() == 1 {
            quote(&parts[0])
        } else {
            let all: Vec<String> = parts.iter().map(|p| quote(p)).collect();
            format!("({} OR ({}))", quote(&parts.concat()), all.join(" AND "))
        };
        alternatives.push(expr);
    }
    match alternatives.len() {
        0 => None,
        1 => alternatives.pop(),
        // `foo.bar` or `std::io`: every word of it.
        _ => Some(format!("({})", alternatives.join(" AND "))),
    }
}

/// The free text as FTS5 clauses: every quoted phrase (all required) and one expression per
/// distinct free word, stop words dropped. The lexical ranking combines the words with OR
/// (the usual expression), with AND, or takes a subset of them (see `search::lexical`).
#[derive(Debug, Clone, PartialEq)]
pub struct LexicalQuery {
    phrases: Vec<String>,
    terms: Vec<String>,
}

impl LexicalQuery {
    /// `None` when there is nothing to match (qualifiers only).
    pub fn new(q: &ParsedQuery) -> Option<Self> {
        let is_stop = |t: &String| is_stop_word(t);
        let mut words: Vec<&String> = q.terms.iter().filter(|t| !is_stop(t)).collect();
        if words.is_empty() {
            // Only stop words: search them rather than nothing.
            words = q.terms.iter().collect();
        }
        let mut seen = std::collections::HashSet::new();
        let terms: Vec<String> = words
            .into_iter()
            .filter_map(|t| term_expression(t))
            .filter(|e| seen.insert(e.clone()))
            .collect();
        let phrases: Vec<String> = q
            .phrases
            .iter()
            .filter_map(|p| {
                let tokens: Vec<String> = crate::pipeline::tokens::words(p)
                    .flat_map(split_identifier)
                    .collect();
                (!tokens.is_empty()).then(|| quote(&tokens.join(" ")))
            })
            .collect();
        (!phrases.is_empty() || !terms.is_empty()).then_some(LexicalQuery { phrases, terms })
    }

    /// The free words' expressions, one each.
    pub fn terms(&self) -> &[String] {
        &self.terms
    }

    /// Every phrase and at least one of `terms` (expressions from [`Self::terms`]).
    pub fn any_of(&self, terms: &[&String]) -> String {
        let mut clauses = self.phrases.clone();
        match terms {
            [] => {}
            [one] => clauses.push((*one).clone()),
            _ => {
                let alternatives: Vec<&str> = terms.iter().map(|t| t.as_str()).collect();
                clauses.push(format!("({})", alternatives.join(" OR ")));
            }
        }
        clauses.join(" AND ")
    }

    /// Every phrase and at least one free word: the usual expression.
    pub fn any(&self) -> String {
        self.any_of(&self.terms.iter().collect::<Vec<_>>())
    }

    /// Every phrase and every free word.
    pub fn all(&self) -> String {
        let mut clauses = self.phrases.clone();
        clauses.extend(self.terms.iter().cloned());
        clauses.join(" AND ")
    }
}

/// `path:` and `-path:` filters over repo-relative, `/`-separated paths. A value without
/// glob characters matches as a case-insensitive substring (`path:src/` is everything
/// under a `src/`); a glob matches the whole path, at any depth unless it starts with `/`.
#[derive(Debug)]
pub struct PathFilter {
    include: Vec<PathPattern>,
    exclude: Vec<PathPattern>,
}

#[derive(Debug)]
enum PathPattern {
    Substring(String),
    Glob(GlobMatcher),
}

impl PathPattern {
    fn new(value: &str) -> Result<Self> {
        if !value.contains(['*', '?', '[', '{']) {
            return Ok(PathPattern::Substring(value.to_lowercase()));
        }
        let pattern = match value.strip_prefix('/') {
            Some(anchored) => anchored.to_string(),
            None if value.starts_with("**") => value.to_string(),
            // globset's leading `**/` also matches zero directories.
            None => format!("**/{value}"),
        };
        let glob = GlobBuilder::new(&pattern)
            .case_insensitive(true)
            .literal_separator(false)
            .build()
            .map_err(|e| Error::InvalidInput(format!("bad path pattern {value:?}: {e}")))?;
        Ok(PathPattern::Glob(glob.compile_matcher()))
    }

    fn matches(&self, path: &str) -> bool {
        match self {
            PathPattern::Substring(s) => path.to_lowercase().contains(s.as_str()),
            PathPattern::Glob(g) => g.is_match(path),
        }
    }
}

impl PathFilter {
    pub fn new(include: &[String], exclude: &[String]) -> Result<Self> {
        Ok(PathFilter {
            include: include
                .iter()
                .map(|v| PathPattern::new(v))
                .collect::<Result<_>>()?,
            exclude: exclude
                .iter()
                .map(|v| PathPattern::new(v))
                .collect::<Result<_>>()?,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.include.is_empty() && self.exclude.is_empty()
    }

    pub fn matches(&self, rel_path: &str) -> bool {
        (self.include.is_empty() || self.include.iter().any(|p| p.matches(rel_path)))
            && !self.exclude.iter().any(|p| p.matches(rel_path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_qualifiers_phrases_and_text() {
        let q = parse_query(
            r#"repo:ripgrep lang:Rust path:src/ -path:*.md "exact phrase" parseArgs std::io"#,
        )
        .unwrap();
        assert_eq!(q.repos, ["ripgrep"]);
        assert_eq!(q.langs, ["Rust"]);
        assert_eq!(q.paths, ["src/"]);
        assert_eq!(q.exclude_paths, ["*.md"]);
        assert_eq!(q.phrases, ["exact phrase"]);
        assert_eq!(q.terms, ["parseArgs", "std::io"]);
        assert_eq!(q.text, "exact phrase parseArgs std::io");
        let q = parse_query(r#"path:"my dir/" file:x "unterminated"#).unwrap();
        assert_eq!(q.paths, ["my dir/", "x"]);
        assert_eq!(q.phrases, ["unterminated"]);
        assert!(parse_query("repo: x")
            .unwrap_err()
            .to_string()
            .contains("repo:ripgrep"));
        assert!(parse_query("-repo:x").is_err());
        let q = parse_query("file::open path::join").unwrap();
        assert_eq!(q.terms, ["file::open", "path::join"]);
        assert!(q.paths.is_empty());
        assert_eq!(
            parse_query(r#""say \"hi\"""#).unwrap().phrases,
            [r#"say "hi""#]
        );
    }

    fn fts(query: &str) -> Option<String> {
        LexicalQuery::new(&parse_query(query).unwrap()).map(|l| l.any())
    }

    #[test]
    fn match_expressions() {
        assert_eq!(
            fts("parseArgs").unwrap(),
            r#"("parseargs" OR ("parse" AND "args"))"#
        );
        assert_eq!(
            fts("how does the walker skip files").unwrap(),
            r#"("walker" OR "skip" OR "files")"#
        );
        assert_eq!(fts("the").unwrap(), r#""the""#);
        assert_eq!(fts("repo:x"), None);
        assert_eq!(fts(r#""fn main" args"#).unwrap(), r#""fn main" AND "args""#);
    }

    /// Every expression must be valid FTS5 and find what it should, whatever the input.
    #[test]
    fn expressions_execute_against_real_fts5() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE VIRTUAL TABLE t USING fts5(body, tokenize = 'porter unicode61 remove_diacritics 2');")
            .unwrap();
        for (id, code) in [
            (1, "fn parseArgs(x)"),
            (2, "def parse_args(x)"),
            (3, "class ParseArgs"),
            (4, "unrelated words"),
        ] {
            conn.execute(
                "INSERT INTO t (rowid, body) VALUES (?1, ?2)",
                rusqlite::params![id, crate::pipeline::tokens::index_tokens(code)],
            )
            .unwrap();
        }
        let ids = |query: &str| -> Vec<i64> {
            let Some(expr) = fts(query) else {
                return Vec::new();
            };
            let mut stmt = conn
                .prepare("SELECT rowid FROM t WHERE t MATCH ?1 ORDER BY rowid")
                .unwrap();
            stmt.query_map([expr], |r| r.get(0))
                .unwrap()
                .map(Result::unwrap)
                .collect()
        };
        assert_eq!(ids("parse args"), [1, 2, 3]);
        assert_eq!(ids("parseargs"), [1, 2, 3]);
        assert_eq!(ids("parse_args"), [1, 2, 3]);
        assert_eq!(ids("parsing args"), [1, 2, 3], "porter stemming");
        for hostile in [
            r#"""#,
            "*",
            "NEAR(a b)",
            "AND",
            "OR NOT",
            "body:parse",
            "((parse",
            "a) OR (b",
            "^x",
            "'; DROP TABLE t; --",
            "\u{0}",
        ] {
            ids(hostile); // must not error
        }
        assert!(
            ids("body:parse").is_empty(),
            "column filters are plain words, all required"
        );
    }

    #[test]
    fn path_filters() {
        let f = PathFilter::new(&["src/".into()], &["*.md".into()]).unwrap();
        assert!(f.matches("src/main.rs"));
        assert!(f.matches("crates/x/src/lib.rs"));
        assert!(!f.matches("src/README.md"));
        assert!(!f.matches("tests/a.rs"));
        let f = PathFilter::new(&["*.rs".into()], &[]).unwrap();
        assert!(f.matches("a/b/c.rs") && f.matches("c.rs") && !f.matches("c.py"));
        let f = PathFilter::new(&["/src/*.rs".into()], &[]).unwrap();
        assert!(f.matches("src/a.rs") && !f.matches("x/src/a.rs"));
        let f = PathFilter::new(&["src/**/mod.rs".into()], &[]).unwrap();
        assert!(f.matches("src/a/b/mod.rs"));
        assert!(PathFilter::new(&["[".into()], &[]).is_err());
        assert!(PathFilter::new(&[], &[]).unwrap().is_empty());
    }
}
