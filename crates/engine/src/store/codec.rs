//! How chunk texts were stored before schema 7: deflated in the row. Newer chunks keep
//! only their byte range (see [`super::TextLocation`]); rows written earlier are still read.

/// Deflates a chunk text as Ferret before schema 7 stored it (tests build such rows).
#[cfg(test)]
pub fn pack(text: &str) -> Vec<u8> {
    use std::io::Write;
    let mut encoder =
        flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(text.as_bytes());
    encoder.finish().unwrap_or_default()
}

/// Inflates a stored chunk text. A damaged blob yields the replacement character rather
/// than an error: one unreadable snippet must not fail a whole search.
pub fn unpack(bytes: &[u8]) -> String {
    use std::io::Read;
    let mut text = String::new();
    if flate2::read::DeflateDecoder::new(bytes)
        .read_to_string(&mut text)
        .is_err()
    {
        return "\u{fffd}".to_string();
    }
    text
}
