use super::*;

fn chunk(text: &str, hash: u8) -> NewChunk {
    NewChunk {
        start_line: 1,
        end_line: 1,
        symbol: Some("main".into()),
        kind: "function".into(),
        content_hash: vec![hash; 16],
        text: text.into(),
        body_tokens: text.into(),
        symbol_tokens: "main".into(),
    }
}

#[test]
fn migrations_files_chunks_and_fts_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("meta.sqlite");
    let mut store = Store::open(&path).unwrap();
    let repo = store.add_repo("demo", dir.path(), "local").unwrap();
    assert!(store
        .add_repo("demo", Path::new("/elsewhere"), "local")
        .is_err());
    let ids = store
        .transaction(|tx| {
            let file = tx.upsert_file(repo.id, "src/main.rs", "rust", 10, 1, b"h")?;
            tx.bump_generation()?;
            tx.insert_chunks(
                file,
                "src main rs",
                &[chunk("hello world", 1), chunk("hello again", 1)],
            )
        })
        .unwrap();
    assert_eq!(ids.len(), 2);
    assert_eq!(store.generation().unwrap(), 1);
    let hits = store
        .count("SELECT COUNT(*) FROM chunks_fts WHERE chunks_fts MATCH 'hello'")
        .unwrap();
    assert_eq!(hits, 2);
    // Duplicate texts wait for one embedding, not two.
    assert_eq!(store.pending_embedding_count("m", None).unwrap(), 1);
    store
        .transaction(|tx| tx.insert_embedding("m", &[1; 16], &[1, 2, 3]))
        .unwrap();
    assert_eq!(store.pending_embedding_count("m", None).unwrap(), 0);
    assert_eq!(store.embedded_chunk_count("m").unwrap(), 2);

    drop(store);
    let mut store = Store::open(&path).unwrap(); // re-open: migrations are idempotent
    let removed = store.remove_repo(repo.id).unwrap();
    assert_eq!(removed.len(), 2);
    let hits = store
        .count("SELECT COUNT(*) FROM chunks_fts WHERE chunks_fts MATCH 'hello'")
        .unwrap();
    assert_eq!(hits, 0);
    assert_eq!(store.count("SELECT COUNT(*) FROM chunks").unwrap(), 0);
}

#[test]
fn chunk_texts_are_stored_deflated() {
    let text = "fn main() {\n    println!(\"héllo\");\n}\n".repeat(20);
    let packed = pack(&text);
    assert!(
        packed.len() * 3 < text.len(),
        "{} vs {}",
        packed.len(),
        text.len()
    );
    assert_eq!(unpack(&packed), text);
    assert_eq!(unpack(b"garbage"), "\u{fffd}");
}

#[test]
fn corrupt_database_is_reported_not_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("meta.sqlite");
    let garbage = vec![0x42u8; 8192];
    std::fs::write(&path, &garbage).unwrap();
    let err = Store::open(&path).err().expect("must fail").to_string();
    assert!(
        err.contains("meta.sqlite")
            && err.contains("Move it aside")
            && err.contains("ferret index"),
        "{err}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), garbage);
}
