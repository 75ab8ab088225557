//! What a query looks like, before anything is ranked: a bare symbol (`HTTPAdapter`,
//! `_private`, `Sinatra::Base`, `a.b`), natural language that names identifiers (`how
//! safeParse reports errors`), or plain natural language. The kind decides how much each
//! ranking and each signal counts; the names are what definition evidence looks for; the
//! keywords are what path evidence looks for.

use crate::pipeline::tokens::{split_identifier, words};

/// The three kinds of query the ranking stage tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QueryKind {
    /// One identifier, maybe qualified: the user wants its definition.
    Symbol,
    /// A question that names one or more identifiers.
    Mixed,
    /// A question in words only.
    Natural,
}

impl QueryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            QueryKind::Symbol => "symbol",
            QueryKind::Mixed => "mixed",
            QueryKind::Natural => "natural",
        }
    }
}

/// A query as the ranking stage sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryShape {
    pub kind: QueryKind,
    /// Identifiers whose definitions count as evidence, as typed (case kept): the last part
    /// of a qualified symbol (`Base` for `Sinatra::Base`) and, for qualified ones, the
    /// whole name with `.` as the only separator (`Sinatra.Base`).
    pub names: Vec<String>,
    /// Lowercase query words (and the parts of identifiers) for path evidence: longer
    /// than two letters, no stop words.
    pub keywords: Vec<String>,
}

/// Separators of qualified names across languages: `a.b`, `A::B`, `A\B`, `$a->b`.
const QUALIFIERS: [&str; 4] = ["::", "\\", "->", "."];

/// Words that carry nothing for path matching.
const STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "by", "do", "does", "for", "from", "has", "have",
    "how", "if", "in", "is", "it", "not", "of", "on", "or", "the", "to", "was", "what", "when",
    "where", "which", "who", "why", "with", "get", "set", "use", "used", "uses", "using",
];

/// Reads the shape of `text`, the query's free text (qualifiers already removed).
pub fn query_shape(text: &str) -> QueryShape {
    let trimmed = text.trim();
    let keywords = keywords(trimmed);
    if !trimmed.contains(char::is_whitespace) && is_symbol_query(trimmed) {
        let mut names = vec![last_part(trimmed).to_string()];
        let qualified = normalise_qualified(trimmed);
        if qualified != names[0] {
            names.push(qualified);
        }
        return QueryShape {
            kind: QueryKind::Symbol,
            names,
            keywords,
        };
    }
    let mut names: Vec<String> = Vec::new();
    for token in trimmed.split_whitespace() {
        let token = token.trim_matches(|c: char| !(c.is_alphanumeric() || c == '_'));
        if token.is_empty() {
            continue;
        }
        let qualified = QUALIFIERS.iter().any(|q| token.contains(q)) && is_symbol_query(token);
        let mut push = |name: String| {
            if name.len() >= 2 && !names.contains(&name) {
                names.push(name);
            }
        };
        if qualified {
            // `WebSocketSubject.error` in a sentence names that method, not every `error`:
            // the qualified form is the name; its last part alone only when it looks like
            // an identifier by itself (`http.HandlerFunc`, `config.load_file`).
            let last = last_part(token);
            if is_embedded_identifier(last) || last.starts_with(char::is_uppercase) {
                push(last.to_string());
            }
            push(normalise_qualified(token));
        } else if is_embedded_identifier(token) {
            push(token.to_string());
        }
    }
    let kind = if names.is_empty() {
        QueryKind::Natural
    } else {
        QueryKind::Mixed
    };
    QueryShape {
        kind,
        names,
        keywords,
    }
}

/// A whole query that is one symbol: qualified (`Sinatra::Base`, `http.Client`), with a
/// leading underscore (`_private`), or an identifier with a capital or an inner underscore
/// (`HTTPAdapter`, `parseArgs`, `safe_parse`, `Router`). A plain lowercase word (`session`)
/// is a word, not a symbol.
pub fn is_symbol_query(token: &str) -> bool {
    let parts = split_qualified(token);
    if parts.len() > 1 {
        return parts.iter().all(|p| is_identifier(p));
    }
    if !is_identifier(token) {
        return false;
    }
    if token.starts_with('_') {
        return true;
    }
    let mut chars = token.chars();
    let first = chars.next().unwrap_or(' ');
    first.is_uppercase() || chars.any(|c| c.is_uppercase() || c == '_')
}

/// An identifier inside a sentence: camelCase, PascalCase with an inner capital
/// (`StateManager`, `HTTPAdapter`; not `The` or `HTTP`), or snake_case with an inner
/// underscore.
fn is_embedded_identifier(token: &str) -> bool {
    if !is_identifier(token) {
        return false;
    }
    let bytes = token.as_bytes();
    let camel = bytes
        .windows(2)
        .any(|w| w[0].is_ascii_lowercase() && w[1].is_ascii_uppercase());
    // An acronym that runs into a word: `HTTPAdapter`, `XMLParser`.
    let acronym_word = bytes.windows(3).any(|w| {
        w[0].is_ascii_uppercase() && w[1].is_ascii_uppercase() && w[2].is_ascii_lowercase()
    });
    let snake = token.trim_matches('_').contains('_');
    camel || acronym_word || snake
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
}

fn split_qualified(token: &str) -> Vec<&str> {
    let mut parts = vec![token];
    for q in QUALIFIERS {
        parts = parts.into_iter().flat_map(|p| p.split(q)).collect();
    }
    parts.retain(|p| !p.is_empty());
    parts
}

/// `Base` of `Sinatra::Base`, `Client` of `http.Client`, the token itself otherwise.
pub fn last_part(token: &str) -> &str {
    split_qualified(token).last().copied().unwrap_or(token)
}

/// `Sinatra::Base` → `Sinatra.Base`: one separator, so symbols of any language compare;
/// generic parameters go (`Glob<'a>::new` → `Glob.new`).
pub fn normalise_qualified(token: &str) -> String {
    split_qualified(token)
        .into_iter()
        .map(|part| part.split('<').next().unwrap_or(part).trim())
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(".")
}

fn keywords(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |w: String| {
        if w.len() > 2
            && !STOP_WORDS.contains(&w.as_str())
            && w.starts_with(|c: char| c.is_alphabetic())
            && !out.contains(&w)
        {
            out.push(w);
        }
    };
    for word in words(text) {
        push(word.to_lowercase());
        let parts = split_identifier(word);
        if parts.len() > 1 {
            for part in parts {
                push(part);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_symbols_are_symbol_queries() {
        for q in [
            "HTTPAdapter",
            "_private",
            "Sinatra::Base",
            "a.b",
            "parseArgs",
            "safe_parse",
            "Router",
            "App\\Http\\Kernel",
            "$this->handle",
        ] {
            let q = q.trim_start_matches('$');
            assert_eq!(query_shape(q).kind, QueryKind::Symbol, "{q}");
        }
        for q in [
            "session",
            "how routes work",
            "HTTP adapter",
            "a..",
            "foo-bar",
        ] {
            assert_ne!(query_shape(q).kind, QueryKind::Symbol, "{q}");
        }
        let shape = query_shape("Sinatra::Base");
        assert_eq!(shape.names, ["Base", "Sinatra.Base"]);
        assert_eq!(query_shape("HTTPAdapter").names, ["HTTPAdapter"]);
    }

    #[test]
    fn questions_that_name_identifiers_are_mixed() {
        let shape = query_shape("how safeParse reports errors");
        assert_eq!(shape.kind, QueryKind::Mixed);
        assert_eq!(shape.names, ["safeParse"]);
        let shape = query_shape("where is StateManager created, and merge_config?");
        assert_eq!(shape.names, ["StateManager", "merge_config"]);
        // A capitalised word or an acronym is English, not an identifier.
        let shape = query_shape("How does The HTTP layer retry");
        assert_eq!(shape.kind, QueryKind::Natural);
        assert!(shape.names.is_empty());
    }

    #[test]
    fn keywords_drop_stop_words_and_split_identifiers() {
        let shape = query_shape("how safeParse reports the errors");
        assert_eq!(
            shape.keywords,
            ["safeparse", "safe", "parse", "reports", "errors"]
        );
        assert!(query_shape("is it in").keywords.is_empty());
    }
}
