//! Cutting files into chunks: the unit that is indexed, embedded and returned by search.
//!
//! For languages with a tree-sitter grammar, each definition (function, method, class,
//! impl, ...) becomes a chunk carrying its symbol and kind, with the doc comments,
//! attributes and decorators just above it (they often say best what the code is for). A
//! container too big for one chunk (a long class or impl) yields its header and its members
//! as separate chunks; a single definition too big is split into overlapping windows that
//! keep its symbol. Code between definitions (imports, constants, top-level statements)
//! becomes plain "lines" chunks, so every non-blank line is searchable. Markdown is cut at
//! headings; everything else, and any file whose parse fails, into line windows.
//!
//! Sizes balance the two rankings: the embedding model reads the first 128 tokens of a
//! chunk (about 400-500 characters of code: see `embed`), while BM25 and the result view
//! want whole definitions. The default cap (1,600 characters / 50 lines) keeps most
//! definitions whole, and their beginning — doc comment and signature, the most telling
//! part — is what the model reads.

mod language;
mod syntax;

pub use language::{detect_language, Language};

/// Size limits of a chunk.
#[derive(Clone, Debug)]
pub struct ChunkLimits {
    pub max_chars: usize,
    pub max_lines: usize,
    /// Lines shared by consecutive windows of a split definition, so a match straddling
    /// the cut is still found whole in one of them.
    pub overlap_lines: usize,
    /// Window size for text without structure.
    pub window_lines: usize,
}

impl Default for ChunkLimits {
    fn default() -> Self {
        ChunkLimits {
            max_chars: 1600,
            max_lines: 50,
            overlap_lines: 5,
            window_lines: 40,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chunk {
    /// 1-based, inclusive.
    pub start_line: u32,
    /// 1-based, inclusive.
    pub end_line: u32,
    pub symbol: Option<String>,
    pub kind: &'static str,
    /// Exactly lines `start_line..=end_line` joined with `\n` (a single line longer than
    /// `max_chars` is the one exception: it is cut at a character boundary).
    pub text: String,
    /// Where `text` starts in the chunked text, in bytes: the text is always the slice
    /// `start_byte..start_byte + text.len()` of it, so the store keeps only this range and
    /// reads the text back from the file (see `pipeline::source`).
    pub start_byte: usize,
}

/// Containers up to this many lines stay one chunk even when they have members.
const SMALL_CONTAINER_LINES: usize = 12;

/// Lines above a definition that belong to it: comments, attributes, decorators.
fn is_preamble_line(line: &str) -> bool {
    let t = line.trim_start();
    [
        "///", "//", "/*", "*", "#[", "#!", "@", "#", "--", "'''", "\"\"\"",
    ]
    .iter()
    .any(|p| t.starts_with(p))
        && !t.starts_with("#include")
        && !t.starts_with("#define")
        && !t.starts_with("#if")
        && !t.starts_with("#end")
}

/// Cuts `text` into chunks.
pub fn chunk_text(language: Language, text: &str, limits: &ChunkLimits) -> Vec<Chunk> {
    let lines: Vec<&str> = text.split('\n').collect();
    // A trailing newline is not an extra line.
    let line_count = if text.ends_with('\n') {
        lines.len() - 1
    } else {
        lines.len()
    };
    if line_count == 0 || text.trim().is_empty() {
        return Vec::new();
    }
    let mut cutter = Cutter {
        base: text.as_ptr() as usize,
        lines: &lines[..line_count],
        limits,
        out: Vec::new(),
    };
    if language.has_grammar() {
        if let Some(defs) = syntax::definitions(language, text) {
            cutter.range(&defs, 0, line_count - 1, None);
            return cutter.out;
        }
    }
    if language == Language::Markdown {
        cutter.markdown();
    } else {
        cutter.windows(0, line_count - 1, None, "lines", limits.window_lines);
    }
    cutter.out
}

struct Cutter<'a> {
    /// The address of the chunked text: lines are slices of it, so a line's address minus
    /// this is its byte offset.
    base: usize,
    lines: &'a [&'a str],
    limits: &'a ChunkLimits,
    out: Vec<Chunk>,
}

impl Cutter<'_> {
    fn chars(&self, start: usize, end: usize) -> usize {
        self.lines[start..=end].iter().map(|l| l.len() + 1).sum()
    }

    fn fits(&self, start: usize, end: usize) -> bool {
        end + 1 - start <= self.limits.max_lines && self.chars(start, end) <= self.limits.max_chars
    }

    fn push(&mut self, start: usize, end: usize, symbol: Option<&str>, kind: &'static str) {
        let mut text = self.lines[start..=end].join("\n");
        if text.len() > self.limits.max_chars {
            // Only reachable for a single overlong line: cut it at a char boundary.
            let mut cut = self.limits.max_chars;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
        }
        self.out.push(Chunk {
            start_line: start as u32 + 1,
            end_line: end as u32 + 1,
            symbol: symbol.filter(|s| !s.is_empty()).map(str::to_string),
            kind,
            text,
            start_byte: self.lines[start].as_ptr() as usize - self.base,
        });
    }

    /// Chunks for `defs` (sorted, non-overlapping) within rows `from..=to`, with the lines
    /// between them as gap chunks labelled `gap_symbol`.
    fn range(
        &mut self,
        defs: &[syntax::Def],
        from: usize,
        to: usize,
        gap_symbol: Option<(&str, &'static str)>,
    ) {
        let mut cursor = from;
        for def in defs {
            if def.start_row < cursor || def.end_row > to {
                continue; // overlapping or out of range (malformed tree): gaps cover it
            }
            // Pull in the comments and attributes right above the definition.
            let mut start = def.start_row;
            while start > cursor
                && def.start_row - start < 30
                && is_preamble_line(self.lines[start - 1])
            {
                start -= 1;
            }
            if start > cursor {
                self.gap(cursor, start - 1, gap_symbol);
            }
            self.definition(def, start);
            cursor = def.end_row + 1;
        }
        if cursor <= to {
            self.gap(cursor, to, gap_symbol);
        }
    }

    fn definition(&mut self, def: &syntax::Def, start: usize) {
        let symbol = Some(def.symbol.as_str());
        // Containers are cut into their members unless tiny: a hit then names the method
        // and opens at it, and each member's embedding is about one thing.
        let split_container =
            !def.children.is_empty() && def.end_row - start >= SMALL_CONTAINER_LINES;
        if !split_container && self.fits(start, def.end_row) {
            self.push(start, def.end_row, symbol, def.kind);
            return;
        }
        let first_child = def.children.iter().map(|c| c.start_row).min();
        match first_child {
            Some(first) if first > start => {
                // Header (signature, fields) up to the first member, then the members.
                let mut header_end = first - 1;
                while header_end > start && is_preamble_line(self.lines[header_end]) {
                    header_end -= 1;
                }
                self.windows(start, header_end, symbol, def.kind, self.limits.max_lines);
                self.range(
                    &def.children,
                    header_end + 1,
                    def.end_row,
                    Some((&def.symbol, def.kind)),
                );
            }
            _ => self.windows(start, def.end_row, symbol, def.kind, self.limits.max_lines),
        }
    }

    /// Lines between definitions: dropped when they hold nothing searchable (blank lines,
    /// closing braces), else windowed.
    fn gap(&mut self, from: usize, to: usize, label: Option<(&str, &'static str)>) {
        let mut from = from;
        let mut to = to;
        while from <= to && self.lines[from].trim().is_empty() {
            from += 1;
        }
        while to > from && self.lines[to].trim().is_empty() {
            to -= 1;
        }
        if from > to
            || !self.lines[from..=to]
                .iter()
                .any(|l| l.chars().any(char::is_alphanumeric))
        {
            return;
        }
        let (symbol, kind) = match label {
            Some((symbol, kind)) => (Some(symbol), kind),
            None => (None, "lines"),
        };
        self.windows(from, to, symbol, kind, self.limits.window_lines);
    }

    /// Overlapping windows of at most `size` lines and `max_chars` characters.
    fn windows(
        &mut self,
        from: usize,
        to: usize,
        symbol: Option<&str>,
        kind: &'static str,
        size: usize,
    ) {
        let size = size.max(1);
        let mut start = from;
        loop {
            let mut end = (start + size - 1).min(to);
            while end > start && self.chars(start, end) > self.limits.max_chars {
                end -= 1;
            }
            self.push(start, end, symbol, kind);
            if end >= to {
                return;
            }
            let overlap = self.limits.overlap_lines.min((end - start) / 2);
            start = end + 1 - overlap;
        }
    }

    /// Markdown: one chunk per heading section (windowed when long).
    fn markdown(&mut self) {
        let mut sections: Vec<(usize, Option<String>)> = Vec::new();
        let mut in_fence = false;
        for (row, line) in self.lines.iter().enumerate() {
            let t = line.trim_start();
            if t.starts_with("```") || t.starts_with("~~~") {
                in_fence = !in_fence;
            }
            if !in_fence && t.starts_with('#') {
                let heading = t.trim_start_matches('#').trim();
                if !heading.is_empty() && t.trim_start_matches('#').starts_with(' ') {
                    sections.push((row, Some(heading.to_string())));
                }
            }
        }
        if sections.first().is_none_or(|(row, _)| *row > 0) {
            sections.insert(0, (0, None));
        }
        let last = self.lines.len() - 1;
        for (i, (start, heading)) in sections.iter().enumerate() {
            let end = sections.get(i + 1).map_or(last, |(next, _)| next - 1);
            let label = heading.as_deref().map(|h| (h, "section"));
            self.gap(*start, end, label);
        }
    }
}

#[cfg(test)]
mod tests;
