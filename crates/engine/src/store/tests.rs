use super::*;

fn chunk(text: &str, hash: u8) -> NewChunk {
    NewChunk {
        start_line: 1,
        end_line: 1,
        symbol: Some("main".into()),
        kind: "function".into(),
        content_hash: vec![hash; 16],
        start_byte: 0,
        byte_len: text.len() as u32,
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
fn chunks_keep_their_byte_range_and_older_rows_their_text() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("meta.sqlite")).unwrap();
    let repo = store.add_repo("demo", dir.path(), "local").unwrap();
    let mut new = chunk("fn b() {}", 2);
    new.start_byte = 10;
    let (file, id) = store
        .transaction(|tx| {
            let file = tx.upsert_file(repo.id, "src/b.rs", "rust", 19, 1, b"h")?;
            let ids = tx.insert_chunks(file, "src b rs", &[new.clone()])?;
            Ok((file, ids[0]))
        })
        .unwrap();
    // A row as Ferret wrote it before schema 7: text inline, no range.
    store
        .conn
        .execute(
            "INSERT INTO chunks (id, file_id, start_line, end_line, kind, content_hash, text)
             VALUES (900, ?1, 1, 1, 'lines', x'01', ?2)",
            params![file, pack("fn old() {}")],
        )
        .unwrap();
    let rows = store.chunks_by_ids(&[id, 900]).unwrap();
    let by_id = |want| rows.iter().find(|r| r.id == want).unwrap();
    match &by_id(id).location {
        TextLocation::File {
            file,
            start_byte,
            byte_len,
        } => {
            assert_eq!(file, &dir.path().join("src/b.rs"));
            assert_eq!((*start_byte, *byte_len), (10, 9));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(by_id(id).content_hash, vec![2; 16]);
    match &by_id(900).location {
        TextLocation::Inline(packed) => assert_eq!(unpack(packed), "fn old() {}"),
        other => panic!("{other:?}"),
    }
    // The embedder finds the same locations, and the row's text stays empty.
    let pending = store.pending_chunks(&[id]).unwrap();
    assert!(matches!(pending[0].location, TextLocation::File { .. }));
    assert_eq!(
        store
            .count(&format!("SELECT length(text) FROM chunks WHERE id = {id}"))
            .unwrap(),
        0
    );
}

#[test]
fn chunk_texts_from_before_schema_7_are_read_deflated() {
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

/// A chunk id is never given out twice: a vector index behind SQLite (a crash between a
/// commit and the vector file's save) must not pair an old vector with a new chunk's text.
#[test]
fn chunk_ids_are_never_reused() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("meta.sqlite")).unwrap();
    let repo = store.add_repo("demo", dir.path(), "local").unwrap();
    let first = store
        .transaction(|tx| {
            let file = tx.upsert_file(repo.id, "a.rs", "rust", 1, 1, b"h")?;
            tx.insert_chunks(file, "a rs", &[chunk("one", 1), chunk("two", 2)])
        })
        .unwrap();
    let newest = *first.iter().max().unwrap();
    store
        .conn()
        .execute("DELETE FROM chunks WHERE id = ?1", [newest])
        .unwrap();
    let again = store
        .transaction(|tx| {
            let file = tx.upsert_file(repo.id, "b.rs", "rust", 1, 1, b"h")?;
            tx.insert_chunks(file, "b rs", &[chunk("three", 3)])
        })
        .unwrap();
    assert!(again[0] > newest, "id {} was given out again", again[0]);
}

/// A profile indexed before migration 6 keeps every chunk, id, FTS row and embedding.
#[test]
fn migration_6_keeps_chunk_ids_fts_and_embeddings() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("meta.sqlite");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        migrate(&conn, &path, &MIGRATIONS[..5]).unwrap();
        conn.execute_batch(
            "INSERT INTO repos (id, name, root, kind, added_at) VALUES (1, 'demo', '/d', 'local', 0);
             INSERT INTO files (id, repo_id, path, language, size, mtime_ns, hash)
                 VALUES (1, 1, 'a.rs', 'rust', 1, 1, x'00');
             INSERT INTO chunks (id, file_id, start_line, end_line, symbol, kind, content_hash, text)
                 VALUES (7, 1, 1, 2, 'main', 'function', x'0101', x''),
                        (9, 1, 3, 4, 'other', 'function', x'0202', x'');
             INSERT INTO chunks_fts (rowid, symbol, path, body) VALUES (7, 'main', 'a rs', 'hello'),
                                                                      (9, 'other', 'a rs', 'world');
             INSERT INTO embeddings (model_id, content_hash, vector) VALUES ('m', x'0101', x'010203');",
        )
        .unwrap();
    }
    let mut store = Store::open(&path).unwrap();
    assert_eq!(
        store
            .count("SELECT COUNT(*) FROM chunks WHERE id IN (7, 9)")
            .unwrap(),
        2
    );
    assert_eq!(
        store
            .count("SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH 'hello'")
            .unwrap(),
        7
    );
    assert_eq!(store.embedded_chunk_count("m").unwrap(), 1);
    store
        .conn()
        .execute("DELETE FROM chunks WHERE id = 9", [])
        .unwrap();
    let ids = store
        .transaction(|tx| tx.insert_chunks(1, "a rs", &[chunk("new", 3)]))
        .unwrap();
    assert!(
        ids[0] > 9,
        "ids go on after the highest ever given: {ids:?}"
    );
}

/// A database at schema 5 with one repository, file, chunk and embedding.
fn v5_database(path: &Path) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch("PRAGMA journal_mode = WAL;").unwrap();
    migrate(&conn, path, &MIGRATIONS[..5]).unwrap();
    conn.execute_batch(
        "INSERT INTO repos (id, name, root, kind, added_at) VALUES (1, 'demo', '/d', 'local', 0);
         INSERT INTO files (id, repo_id, path, language, size, mtime_ns, hash)
             VALUES (1, 1, 'a.rs', 'rust', 1, 1, x'00');
         INSERT INTO chunks (id, file_id, start_line, end_line, symbol, kind, content_hash, text)
             VALUES (7, 1, 1, 2, 'main', 'function', x'0101', x'');
         INSERT INTO embeddings (model_id, content_hash, vector) VALUES ('m', x'0101', x'010203');",
    )
    .unwrap();
}

fn backups_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".bak"))
        .collect();
    names.sort();
    names
}

fn user_version(path: &Path) -> i64 {
    rusqlite::Connection::open(path)
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap()
}

/// Upgrading keeps a copy of the old database until the last migration commits, then
/// deletes it; a copy a failed earlier attempt left is never overwritten.
#[test]
fn a_successful_migration_removes_its_backup() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("meta.sqlite");
    v5_database(&path);
    let earlier = dir.path().join("meta.sqlite.v5.bak");
    std::fs::write(&earlier, b"left by an earlier attempt").unwrap();
    let store = Store::open(&path).unwrap();
    assert_eq!(user_version(&path), MIGRATIONS.len() as i64);
    assert_eq!(store.embedded_chunk_count("m").unwrap(), 1);
    assert_eq!(backups_in(dir.path()), ["meta.sqlite.v5.bak"]);
    assert_eq!(
        std::fs::read(&earlier).unwrap(),
        b"left by an earlier attempt"
    );
    std::fs::remove_file(&earlier).unwrap();
    drop(store);
    // Up to date: nothing copied.
    Store::open(&path).unwrap();
    assert!(backups_in(dir.path()).is_empty());
}

/// A migration that fails keeps the copy made before the first one and names it.
#[test]
fn a_failed_migration_keeps_its_backup_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("meta.sqlite");
    v5_database(&path);
    let mut failing: Vec<&str> = MIGRATIONS.to_vec();
    failing.push("CREATE TABLE broken (; this is not SQL");
    let conn = rusqlite::Connection::open(&path).unwrap();
    let err = migrate(&conn, &path, &failing).unwrap_err().to_string();
    let backup = dir.path().join("meta.sqlite.v5.bak");
    assert!(
        err.contains(&backup.display().to_string())
            && err.contains(&format!("failed at version {}", MIGRATIONS.len() + 1)),
        "{err}"
    );
    assert_eq!(backups_in(dir.path()), ["meta.sqlite.v5.bak"]);
    // The copy is the database as it was: schema 5 with its data.
    assert_eq!(user_version(&backup), 5);
    let copy = rusqlite::Connection::open(&backup).unwrap();
    let chunks: i64 = copy
        .query_row("SELECT COUNT(*) FROM chunks WHERE id = 7", [], |r| r.get(0))
        .unwrap();
    assert_eq!(chunks, 1);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&backup).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the copy is owner-only: {mode:o}");
    }
    // Migrations before the failing one stay committed, each in its own transaction.
    assert_eq!(user_version(&path), MIGRATIONS.len() as i64);
}

/// A database from a newer Ferret is refused and left byte for byte as it was.
#[test]
fn a_newer_database_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("meta.sqlite");
    drop(Store::open(&path).unwrap());
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", MIGRATIONS.len() + 1)
            .unwrap();
        conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
            .unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    let err = Store::open(&path).err().expect("refused");
    assert_eq!(err.kind(), ErrorKind::Refused);
    let text = err.to_string();
    assert!(
        text.contains("newer Ferret") && text.contains("upgrade Ferret"),
        "{text}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert!(backups_in(dir.path()).is_empty());
}

/// A profile with vectors of the original default model and no recorded choice keeps
/// searching with them after the default changed; one without vectors gets the new default.
#[test]
fn migration_8_pins_profiles_with_vectors_to_the_original_default_model() {
    use crate::models::{DEFAULT_MODEL, ORIGINAL_DEFAULT_MODEL};
    assert_ne!(DEFAULT_MODEL, ORIGINAL_DEFAULT_MODEL);
    let dir = tempfile::tempdir().unwrap();
    let at_version_7 = |name: &str, model: Option<&str>| {
        let path = dir.path().join(name);
        let conn = rusqlite::Connection::open(&path).unwrap();
        migrate(&conn, &path, &MIGRATIONS[..7]).unwrap();
        if let Some(model) = model {
            conn.execute(
                "INSERT INTO embeddings (model_id, content_hash, vector) VALUES (?1, x'01', x'00')",
                [model],
            )
            .unwrap();
        }
        path
    };
    let indexed = Store::open(&at_version_7(
        "indexed.sqlite",
        Some(ORIGINAL_DEFAULT_MODEL),
    ))
    .unwrap();
    assert_eq!(
        indexed.model_in_role("active").unwrap().as_deref(),
        Some(ORIGINAL_DEFAULT_MODEL)
    );
    let empty = Store::open(&at_version_7("empty.sqlite", None)).unwrap();
    assert_eq!(empty.model_in_role("active").unwrap(), None);
    // A choice already recorded stays.
    let path = at_version_7("switched.sqlite", Some(ORIGINAL_DEFAULT_MODEL));
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute(
            "INSERT INTO model_state (role, model_id, since) VALUES ('active', 'other', 0)",
            [],
        )
        .unwrap();
    let switched = Store::open(&path).unwrap();
    assert_eq!(
        switched.model_in_role("active").unwrap().as_deref(),
        Some("other")
    );
}

/// A database from outside (an imported archive) is used only when it is intact and holds
/// exactly the schema Ferret's migrations create, at its own version: a trigger, view or
/// changed table smuggled in is refused, and defensive mode keeps the schema from being
/// rewritten behind SQLite's back.
#[test]
fn an_untrusted_database_must_be_intact_with_ferrets_own_schema() {
    let dir = tempfile::tempdir().unwrap();
    let fresh = |name: &str, extra: &str| -> PathBuf {
        let path = dir.path().join(name);
        drop(Store::open(&path).unwrap());
        if !extra.is_empty() {
            rusqlite::Connection::open(&path)
                .unwrap()
                .execute_batch(extra)
                .unwrap();
        }
        path
    };
    // As Ferret writes it, and an older version (migrated on open).
    Store::open_untrusted(&fresh("plain.sqlite", "")).unwrap();
    let old = dir.path().join("v5.sqlite");
    v5_database(&old);
    let store = Store::open_untrusted(&old).unwrap();
    assert_eq!(user_version(&old), MIGRATIONS.len() as i64);

    // Defensive mode: the schema cannot be edited as data.
    let rewrite = store
        .conn()
        .execute_batch(
            "PRAGMA writable_schema = ON;
             UPDATE sqlite_schema SET sql = 'CREATE TABLE repos (x)' WHERE name = 'repos';",
        )
        .unwrap_err()
        .to_string();
    assert!(rewrite.contains("may not be modified"), "{rewrite}");
    drop(store);

    for (name, extra, what) in [
        (
            "trigger",
            "CREATE TRIGGER evil AFTER UPDATE ON repos BEGIN UPDATE repos SET root = '/'; END;",
            "trigger \"evil\"",
        ),
        (
            "view",
            "CREATE VIEW evil AS SELECT * FROM repos;",
            "view \"evil\"",
        ),
        (
            "altered",
            "ALTER TABLE repos ADD COLUMN evil TEXT;",
            "table \"repos\"",
        ),
        ("dropped", "DROP INDEX chunks_by_hash;", "missing index"),
    ] {
        let path = fresh(&format!("{name}.sqlite"), extra);
        let err = Store::open_untrusted(&path).err().expect(name);
        assert_eq!(err.kind(), ErrorKind::Refused, "{name}: {err}");
        assert!(err.to_string().contains(what), "{name}: {err}");
    }

    // Truncated: damaged, with the recovery step.
    let whole = fresh("whole.sqlite", "");
    {
        let store = Store::open(&whole).unwrap();
        for i in 0..200 {
            store
                .add_repo(&format!("r{i}"), &dir.path().join(format!("r{i}")), "local")
                .unwrap();
        }
        store
            .conn()
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
            .unwrap();
    }
    let bytes = std::fs::read(&whole).unwrap();
    let cut = dir.path().join("cut.sqlite");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let err = Store::open_untrusted(&cut).err().expect("truncated");
    assert_eq!(err.kind(), ErrorKind::Corrupt, "{err}");
}

#[test]
fn a_fragment_leads_to_the_first_chunk_of_its_definition() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("meta.sqlite")).unwrap();
    let repo = store.add_repo("demo", dir.path(), "local").unwrap();
    let at = |start: u32, symbol: Option<&str>, hash: u8| NewChunk {
        start_line: start,
        end_line: start,
        symbol: symbol.map(str::to_string),
        ..chunk("x", hash)
    };
    let ids = store
        .transaction(|tx| {
            let file = tx.upsert_file(repo.id, "engine.rb", "ruby", 10, 1, b"h")?;
            let other = tx.upsert_file(repo.id, "other.rb", "ruby", 10, 1, b"i")?;
            let mut ids = tx.insert_chunks(
                file,
                "engine rb",
                &[
                    at(782, Some("Engine"), 1),
                    at(318, Some("Engine"), 2),
                    at(360, Some("Engine.inherited"), 3),
                    at(1, None, 4),
                ],
            )?;
            ids.extend(tx.insert_chunks(other, "other rb", &[at(5, Some("Engine"), 5)])?);
            Ok(ids)
        })
        .unwrap();
    let mut firsts = store
        .first_chunks_of_symbols(&[ids[0], ids[2], ids[3], ids[4]])
        .unwrap();
    firsts.sort();
    let mut expected = vec![(ids[0], ids[1]), (ids[2], ids[2]), (ids[4], ids[4])];
    expected.sort();
    assert_eq!(
        firsts, expected,
        "same file and symbol only; no symbol, no pair"
    );
}

#[test]
fn existing_files_are_told_by_repository_and_path() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("meta.sqlite")).unwrap();
    let a = store.add_repo("a", dir.path(), "local").unwrap();
    let b = store.add_repo("b", &dir.path().join("b"), "local").unwrap();
    store
        .transaction(|tx| {
            tx.upsert_file(a.id, "lib/transfer.c", "c", 1, 1, b"h")?;
            tx.upsert_file(b.id, "lib/other.c", "c", 1, 1, b"h")?;
            Ok(())
        })
        .unwrap();
    let pair = |r: &str, p: &str| (r.to_string(), p.to_string());
    let found = store
        .existing_files(&[
            pair("a", "lib/transfer.c"),
            pair("a", "lib/other.c"),
            pair("b", "lib/transfer.c"),
            pair("c", "lib/transfer.c"),
        ])
        .unwrap();
    assert_eq!(found, [pair("a", "lib/transfer.c")]);
}
