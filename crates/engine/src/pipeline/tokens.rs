//! Code-aware tokens for the lexical index.
//!
//! FTS5's tokenizers split on punctuation but know nothing of identifiers, so `parseArgs`
//! would be one token and the query `parse args` would never find it. Before a chunk goes
//! into FTS5 its text is rewritten as *token text*: every identifier contributes its
//! lowercase parts (`parse`, `args`) and, when it has several, the whole identifier joined
//! (`parseargs`), so both `parse args` and `parseArgs`/`parse_args`/`PARSE_ARGS` match. The
//! query side runs the same splitter (see [`crate::search::query`]).
//!
//! Digits stay attached to their letters (`utf8`, `sha256`, `v2`): splitting them creates
//! noise tokens like `8` that match everything.

/// Identifiers longer than this are data (hashes, base64), not names: not indexed.
const MAX_TOKEN_LEN: usize = 64;

/// Token text for indexing `source`: space-separated lowercase parts of every identifier,
/// plus the joined identifier when it has more than one part.
pub fn index_tokens(source: &str) -> String {
    let mut out = String::with_capacity(source.len() + source.len() / 4);
    for word in words(source) {
        if word.len() > MAX_TOKEN_LEN {
            continue;
        }
        let parts = split_identifier(word);
        for part in &parts {
            out.push_str(part);
            out.push(' ');
        }
        if parts.len() > 1 {
            for part in &parts {
                out.push_str(part);
            }
            out.push(' ');
        }
    }
    out.pop();
    out
}

/// Maximal runs of alphanumerics and `_` (identifier characters in most languages).
pub fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
}

/// Splits one identifier into lowercase parts at `_`, `-` and case changes:
/// `parseArgs` → parse, args; `HTTPServer` → http, server; `PARSE_ARGS` → parse, args;
/// `utf8Decoder` → utf8, decoder.
pub fn split_identifier(word: &str) -> Vec<String> {
    let mut parts = Vec::new();
    for piece in word.split(['_', '-']).filter(|p| !p.is_empty()) {
        let chars: Vec<char> = piece.chars().collect();
        let mut start = 0;
        for i in 1..chars.len() {
            let (prev, cur) = (chars[i - 1], chars[i]);
            let next_is_lower = chars.get(i + 1).is_some_and(|c| c.is_lowercase());
            // aB: a new word starts at B. ABc: the acronym ends before B.
            let boundary = (prev.is_lowercase() || prev.is_ascii_digit()) && cur.is_uppercase()
                || prev.is_uppercase() && cur.is_uppercase() && next_is_lower;
            if boundary {
                parts.push(chars[start..i].iter().collect::<String>().to_lowercase());
                start = i;
            }
        }
        parts.push(chars[start..].iter().collect::<String>().to_lowercase());
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_identifiers_of_every_style() {
        assert_eq!(split_identifier("parseArgs"), ["parse", "args"]);
        assert_eq!(split_identifier("ParseArgs"), ["parse", "args"]);
        assert_eq!(split_identifier("parse_args"), ["parse", "args"]);
        assert_eq!(split_identifier("PARSE_ARGS"), ["parse", "args"]);
        assert_eq!(split_identifier("parse-args"), ["parse", "args"]);
        assert_eq!(split_identifier("HTTPServer"), ["http", "server"]);
        assert_eq!(
            split_identifier("getHTTPResponseCode"),
            ["get", "http", "response", "code"]
        );
        assert_eq!(split_identifier("utf8Decoder"), ["utf8", "decoder"]);
        assert_eq!(split_identifier("sha256"), ["sha256"]);
        assert_eq!(split_identifier("__init__"), ["init"]);
        assert_eq!(split_identifier("x"), ["x"]);
    }

    #[test]
    fn index_tokens_emit_parts_and_joined_forms() {
        assert_eq!(index_tokens("fn parseArgs(x)"), "fn parse args parseargs x");
        assert_eq!(index_tokens("self.walk_dir()"), "self walk dir walkdir");
        let long = "a".repeat(100);
        assert_eq!(index_tokens(&format!("ok {long} done")), "ok done");
        assert_eq!(index_tokens("  "), "");
        assert_eq!(index_tokens("café_ünïcode"), "café ünïcode caféünïcode");
    }
}
