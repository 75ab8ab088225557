//! Reading chunk texts back from the files they came from.
//!
//! The store keeps a chunk's byte range, not its text (see [`TextLocation`]): the working
//! copy (or the checkout of a cloned repository) already holds every byte, and a second,
//! deflated copy in the database was the largest part of the index after the vectors. So a
//! search result's snippet, a phrase check and the embedder's input are read here, a few
//! kilobytes at a time with positioned reads, and each text is checked against the chunk's
//! content hash. A file edited, truncated or deleted since it was indexed yields `None`
//! (the caller marks the result stale, or leaves the chunk for the next index run); it can
//! never yield the wrong text. The watcher re-indexes a saved file within a second, so in
//! the app a stale result is a brief window, not a state.

use crate::pipeline::run::{content_hash, embedding_input};
use crate::store::{unpack, ChunkRow, PendingChunk, TextLocation};

/// Longest range read back: the chunker caps chunks far below this (1,600 characters), so
/// anything longer is a damaged row, not a chunk.
const MAX_CHUNK_BYTES: u32 = 1 << 20;

/// The text of a chunk as it was indexed, or `None` when its file no longer holds it.
pub fn chunk_text(
    location: &TextLocation,
    path: &str,
    kind: &str,
    symbol: Option<&str>,
    content_hash: &[u8],
) -> Option<String> {
    let (file, start_byte, byte_len) = match location {
        // Written by a Ferret before schema 7: the indexed text itself.
        TextLocation::Inline(packed) => return Some(unpack(packed)),
        TextLocation::Withheld => return None,
        TextLocation::File {
            file,
            start_byte,
            byte_len,
        } => (file, *start_byte, *byte_len),
    };
    if byte_len > MAX_CHUNK_BYTES {
        return None;
    }
    let bytes = read_range(file, start_byte, byte_len as usize).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let same = self::content_hash(&embedding_input(path, kind, symbol, &text)) == content_hash;
    if !same {
        log::debug!(
            "{}: bytes {start_byte}..+{byte_len} changed since indexing",
            file.display()
        );
    }
    same.then_some(text)
}

/// The text of a search candidate (see [`chunk_text`]).
pub fn row_text(row: &ChunkRow) -> Option<String> {
    chunk_text(
        &row.location,
        &row.path,
        &row.kind,
        row.symbol.as_deref(),
        &row.content_hash,
    )
}

/// The text of a chunk waiting for its embedding (see [`chunk_text`]).
pub fn pending_text(chunk: &PendingChunk) -> Option<String> {
    chunk_text(
        &chunk.location,
        &chunk.path,
        &chunk.kind,
        chunk.symbol.as_deref(),
        &chunk.content_hash,
    )
}

/// `len` bytes of `file` from `start`; an error when the file is shorter (it changed).
fn read_range(file: &std::path::Path, start: u64, len: usize) -> std::io::Result<Vec<u8>> {
    let handle = std::fs::File::open(file)?;
    let mut bytes = vec![0u8; len];
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileExt;
        handle.read_exact_at(&mut bytes, start)?;
    }
    #[cfg(not(unix))]
    {
        use std::io::{Read, Seek, SeekFrom};
        let mut handle = handle;
        handle.seek(SeekFrom::Start(start))?;
        handle.read_exact(&mut bytes)?;
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::pack;

    fn location(file: &std::path::Path, start: u64, len: usize) -> TextLocation {
        TextLocation::File {
            file: file.to_path_buf(),
            start_byte: start,
            byte_len: len as u32,
        }
    }

    fn hash(text: &str) -> Vec<u8> {
        content_hash(&embedding_input("src/a.rs", "function", Some("main"), text))
    }

    #[test]
    fn reads_the_indexed_range_and_refuses_a_changed_one() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.rs");
        let body = "fn main() {\n    println!(\"hé\");\n}";
        std::fs::write(&file, format!("// head\n{body}\n")).unwrap();
        let loc = location(&file, 8, body.len());
        let read = |h: &[u8]| chunk_text(&loc, "src/a.rs", "function", Some("main"), h);
        assert_eq!(read(&hash(body)).as_deref(), Some(body));

        // Same length, other bytes: the hash tells.
        std::fs::write(
            &file,
            format!("// head\n{}\n", body.replace("main", "mian")),
        )
        .unwrap();
        assert_eq!(read(&hash(body)), None);
        // Shorter file, then no file: no text, no panic.
        std::fs::write(&file, "// head\n").unwrap();
        assert_eq!(read(&hash(body)), None);
        std::fs::remove_file(&file).unwrap();
        assert_eq!(read(&hash(body)), None);
    }

    #[test]
    fn a_range_cutting_a_character_or_too_long_yields_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.rs");
        std::fs::write(&file, "é").unwrap();
        let cut = location(&file, 0, 1);
        assert_eq!(
            chunk_text(&cut, "src/a.rs", "function", Some("main"), &hash("é")),
            None
        );
        let huge = location(&file, 0, (MAX_CHUNK_BYTES + 1) as usize);
        assert_eq!(
            chunk_text(&huge, "src/a.rs", "function", Some("main"), &hash("é")),
            None
        );
    }

    #[test]
    fn rows_from_before_schema_7_carry_their_text() {
        let inline = TextLocation::Inline(pack("fn old() {}"));
        assert_eq!(
            chunk_text(&inline, "a.rs", "function", None, b"any").as_deref(),
            Some("fn old() {}")
        );
    }
}
