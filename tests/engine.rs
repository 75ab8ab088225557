//! The engine end to end on real fixture repositories with the real model: indexing, each
//! search mode, filters, incremental re-indexing, the embedding cache, vector index recovery,
//! paused repositories and bad input.

use std::fs;
use std::sync::atomic::AtomicBool;

use ferret_engine::SearchMode::{Hybrid, Lexical, Semantic};
use ferret_tests::*;

#[test]
fn polyglot_fixture_is_searchable_in_every_mode() {
    let (_src, repo) = copy_fixture("polyglot");
    let data = tempfile::tempdir().unwrap();
    let engine = open_engine(data.path());
    engine.add_repo(&repo, None).unwrap();
    let report = index_all(&engine);
    assert_eq!(report.files_changed, 13, "{report:?}");
    let stats = engine.stats().unwrap();
    assert_eq!(stats.files, 13);
    assert!(stats.chunks >= 25, "{stats:?}");
    assert_eq!(
        stats.embedded_chunks, stats.chunks,
        "every chunk gets a vector"
    );
    assert_eq!(stats.semantic_coverage, 1.0);

    // Lexical: code-aware tokens find camelCase and snake_case from plain words.
    let hits = search(&engine, "parse args", Lexical);
    let top3 = &hits[..3.min(hits.len())];
    assert!(
        position(top3, "web/cart.js", "parseArgs").is_some(),
        "{:?}",
        paths(&hits)
    );
    assert!(
        position(top3, "lib/config_loader.py", "parse_args").is_some(),
        "{:?}",
        paths(&hits)
    );
    assert!(hits
        .iter()
        .all(|h| h.lexical_rank.is_some() && h.semantic_rank.is_none()));

    // One definition per language, found by name, with its symbol and line range.
    for (query, path, symbol, line) in [
        (
            "tokenize expression",
            "src/tokenizer.rs",
            "tokenize_expression",
            14,
        ),
        ("try acquire", "src/tokenizer.rs", "try_acquire", 63),
        ("settings store load", "lib/config_loader.py", "load", 24),
        ("total with tax", "web/cart.js", "totalWithTax", 22),
        ("get user", "web/user_service.ts", "getUser", 13),
        ("great circle", "cmd/geo.go", "greatCircle", 12),
        ("reserve", "src/Inventory.java", "reserve", 15),
        (
            "ring buffer push",
            "src/ring_buffer.c",
            "ring_buffer_push",
            20,
        ),
        ("multiply", "src/matrix.cpp", "multiply", 10),
        ("send receipt", "src/Mailer.cs", "SendReceipt", 12),
        ("slugify", "lib/slugify.rb", "slugify", 3),
        ("dispatch", "web/Router.php", "dispatch", 15),
        ("rotate backups", "scripts/backup.sh", "rotate_backups", 5),
    ] {
        let hits = search(&engine, query, Lexical);
        let at = position(&hits, path, symbol).unwrap_or_else(|| {
            panic!(
                "{query:?}: {symbol} in {path} not found: {:?}",
                paths(&hits)
            )
        });
        assert!(
            at < 3,
            "{query:?}: {symbol} ranked {at}: {:?}",
            paths(&hits)
        );
        let hit = &hits[at];
        assert!(
            hit.start_line <= line && line <= hit.end_line,
            "{query:?}: {hit:?}"
        );
        assert!(!hit.snippet.is_empty());
        assert!(
            !hit.highlights.is_empty(),
            "{query:?}: no highlight in {hit:?}"
        );
    }

    // Semantic: no shared words, found by meaning.
    let hits = search(
        &engine,
        "distance between two places on the globe",
        Semantic,
    );
    assert_eq!(
        position(&hits, "cmd/geo.go", "greatCircle"),
        Some(0),
        "{:?}",
        paths(&hits)
    );
    assert!(hits
        .iter()
        .all(|h| h.semantic_rank.is_some() && h.lexical_rank.is_none()));
    let hits = search(
        &engine,
        "make a web address friendly version of a title",
        Semantic,
    );
    assert!(
        position(&hits[..3], "lib/slugify.rb", "slugify").is_some(),
        "{:?}",
        paths(&hits)
    );

    // Hybrid: fused, and a chunk found by both rankings carries both ranks.
    let hits = search(&engine, "shopping cart total price with tax", Hybrid);
    assert_eq!(
        position(&hits, "web/cart.js", "totalWithTax"),
        Some(0),
        "{:?}",
        paths(&hits)
    );
    assert!(hits[0].lexical_rank.is_some() && hits[0].semantic_rank.is_some());
}

#[test]
fn filters_apply_before_top_k() {
    let (_src, repo) = copy_fixture("polyglot");
    let data = tempfile::tempdir().unwrap();
    let engine = open_engine(data.path());
    engine.add_repo(&repo, Some("shop")).unwrap();
    index_all(&engine);

    for mode in [Lexical, Semantic, Hybrid] {
        let hits = search(&engine, "lang:python parse command line arguments", mode);
        assert!(!hits.is_empty(), "{mode:?}");
        assert!(
            hits.iter().all(|h| h.language == "python"),
            "{mode:?}: {:?}",
            paths(&hits)
        );

        let hits = search(&engine, "path:web/ parse args", mode);
        assert!(!hits.is_empty(), "{mode:?}");
        assert!(
            hits.iter().all(|h| h.path.starts_with("web/")),
            "{mode:?}: {:?}",
            paths(&hits)
        );

        let hits = search(&engine, "-path:web/ -path:*.py parse args", mode);
        assert!(
            hits.iter()
                .all(|h| !h.path.starts_with("web/") && !h.path.ends_with(".py")),
            "{mode:?}"
        );

        // A filter that excludes the best match still returns the next ones, not nothing.
        let hits = search(&engine, "repo:shop lang:go distance", mode);
        assert!(
            hits.iter().all(|h| h.path == "cmd/geo.go"),
            "{mode:?}: {:?}",
            paths(&hits)
        );
        assert!(!hits.is_empty(), "{mode:?}");
    }

    // Phrases are required verbatim.
    let hits = search(&engine, "\"throw new Error\"", Hybrid);
    assert!(!hits.is_empty());
    assert!(
        hits.iter().all(|h| h.path == "web/user_service.ts"),
        "{:?}",
        paths(&hits)
    );

    // Unknown qualifier values are clear errors.
    let err = engine
        .search("repo:nope x", &Default::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("nope") && err.contains("shop"), "{err}");
    let err = engine
        .search("lang:klingon x", &Default::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("klingon"), "{err}");
}

#[test]
fn reindex_skips_unchanged_and_embeds_only_new_chunks() {
    let (_src, repo) = copy_fixture("polyglot");
    let data = tempfile::tempdir().unwrap();
    let engine = open_engine(data.path());
    engine.add_repo(&repo, None).unwrap();
    let first = index_all(&engine);
    assert!(first.embeddings_computed > 0);

    let again = index_all(&engine);
    assert_eq!(
        (
            again.files_changed,
            again.embeddings_computed,
            again.chunks_written
        ),
        (0, 0, 0),
        "{again:?}"
    );
    assert_eq!(again.files_unchanged, 13);

    // Touch without changing content: the hash check avoids re-chunking.
    let go = repo.join("cmd/geo.go");
    let text = fs::read_to_string(&go).unwrap();
    fs::write(&go, &text).unwrap();
    let touched = index_all(&engine);
    assert_eq!(
        (touched.files_changed, touched.embeddings_computed),
        (0, 0),
        "{touched:?}"
    );

    // Edit one function: only its chunk is embedded again.
    fs::write(
        &go,
        text.replace(
            "fmt.Printf(\"%.1f km\\n\"",
            "fmt.Printf(\"%.2f leagues\\n\"",
        ),
    )
    .unwrap();
    let edited = index_all(&engine);
    assert_eq!(edited.files_changed, 1, "{edited:?}");
    assert!(
        edited.embeddings_computed >= 1 && edited.embeddings_computed <= 2,
        "{edited:?}"
    );
    let hits = search(&engine, "\"leagues\"", Lexical);
    assert_eq!(paths(&hits), ["cmd/geo.go:21-23 Some(\"main\")"]);

    // Delete a file: it leaves the index.
    fs::remove_file(repo.join("lib/slugify.rb")).unwrap();
    let removed = index_all(&engine);
    assert_eq!(removed.files_removed, 1);
    assert!(search(&engine, "slugify", Lexical).is_empty());
    let stats = engine.stats().unwrap();
    assert_eq!(stats.embedded_chunks, stats.chunks);
    // The vectors in memory were kept in step: the removed file's chunks left them too.
    assert_eq!(
        engine.vector_index_info().unwrap().chunks,
        stats.embedded_chunks
    );
}

#[test]
fn the_same_code_in_two_repos_is_embedded_once() {
    let (_a, repo_a) = copy_fixture("polyglot");
    let (_b, repo_b) = copy_fixture("polyglot");
    let data = tempfile::tempdir().unwrap();
    let engine = open_engine(data.path());
    engine.add_repo(&repo_a, Some("a")).unwrap();
    let first = index_all(&engine);
    engine.add_repo(&repo_b, Some("b")).unwrap();
    let second = index_all(&engine);
    assert_eq!(second.files_changed, 13);
    assert_eq!(
        second.embeddings_computed, 0,
        "duplicates must come from the cache: {second:?}"
    );
    let stats = engine.stats().unwrap();
    assert_eq!(stats.chunks, 2 * first.chunks_written);
    assert_eq!(stats.embedded_chunks, stats.chunks);
    // Both copies are found semantically, each with its own repo.
    let hits = search(
        &engine,
        "distance between two places on the globe",
        Semantic,
    );
    let repos: Vec<&str> = hits
        .iter()
        .filter(|h| h.path == "cmd/geo.go")
        .map(|h| h.repo.as_str())
        .collect();
    assert!(
        repos.contains(&"a") && repos.contains(&"b"),
        "{:?}",
        paths(&hits)
    );

    assert!(engine.remove_repo("a").unwrap() > 0);
    let hits = search(&engine, "great circle", Hybrid);
    assert!(hits.iter().all(|h| h.repo == "b"));
}

#[test]
fn a_paused_repository_is_skipped_but_stays_searchable() {
    let (_a, repo_a) = copy_fixture("polyglot");
    let (_b, repo_b) = copy_fixture("polyglot");
    let data = tempfile::tempdir().unwrap();
    let engine = open_engine(data.path());
    engine.add_repo(&repo_a, Some("kept")).unwrap();
    engine.add_repo(&repo_b, Some("held")).unwrap();
    index_all(&engine);

    // A change in the paused repository is not picked up by "index everything".
    let row = engine.set_repo_paused("held", true).unwrap();
    assert!(row.paused);
    fs::write(
        repo_b.join("src/held_only.rs"),
        "pub fn quarantined_symbol() {}\n",
    )
    .unwrap();
    let report = index_all(&engine);
    assert_eq!(report.files_changed, 0, "{report:?}");
    let info = |name: &str| {
        engine
            .repos()
            .unwrap()
            .into_iter()
            .find(|r| r.name == name)
            .unwrap()
    };
    assert!(info("held").paused && !info("kept").paused);
    // What it held is still found; the new file is not.
    let hits = search(&engine, "slugify", Lexical);
    assert!(hits.iter().any(|h| h.repo == "held"), "{:?}", paths(&hits));
    assert!(search(&engine, "quarantined_symbol", Lexical).is_empty());

    // Naming it is refused with the way out; so is a sync.
    let err = engine
        .index(Some("held"), &AtomicBool::new(false), false, &|_| {})
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("paused") && err.contains("ferret repo resume held"),
        "{err}"
    );

    // Resumed, it catches up.
    assert!(!engine.set_repo_paused("held", false).unwrap().paused);
    let report = index_all(&engine);
    assert_eq!(report.files_changed, 1, "{report:?}");
    let hits = search(&engine, "quarantined_symbol", Lexical);
    assert_eq!(hits.first().map(|h| h.repo.as_str()), Some("held"));
    assert!(engine.set_repo_paused("nope", true).is_err());
}

#[test]
fn vectors_come_from_the_database_and_old_vector_files_are_removed() {
    let (_src, repo) = copy_fixture("polyglot");
    let data = tempfile::tempdir().unwrap();
    {
        let engine = open_engine(data.path());
        engine.add_repo(&repo, None).unwrap();
        index_all(&engine);
    }
    let embeddings_before = count_rows(data.path(), "SELECT COUNT(*) FROM embeddings");
    // What an earlier version left: a usearch file per model (here garbage) and a sidecar.
    let old_dir = data.path().join("user_data/default/vectors");
    fs::create_dir_all(&old_dir).unwrap();
    fs::write(
        old_dir.join("all-minilm-l6-v2-int8.usearch"),
        vec![0xAB; 4096],
    )
    .unwrap();
    fs::write(old_dir.join("all-minilm-l6-v2-int8.usearch.json"), b"{}").unwrap();

    // Opening removes them; a search reads the vectors from SQLite and answers semantically.
    let engine = open_engine(data.path());
    assert!(!old_dir.exists(), "the old vector files were removed");
    let hits = search(
        &engine,
        "distance between two places on the globe",
        Semantic,
    );
    assert_eq!(
        position(&hits, "cmd/geo.go", "greatCircle"),
        Some(0),
        "{:?}",
        paths(&hits)
    );
    let stats = engine.stats().unwrap();
    assert_eq!(
        engine.vector_index_info().unwrap().chunks,
        stats.embedded_chunks
    );

    // An index run embeds nothing: every vector is still in the database.
    let report = index_all(&engine);
    assert_eq!(report.embeddings_computed, 0);
    assert_eq!(
        count_rows(data.path(), "SELECT COUNT(*) FROM embeddings"),
        embeddings_before
    );
    assert!(!old_dir.exists(), "and nothing writes a vector file again");
    drop(engine);

    // Vectors are stored at 4 bits: a tag byte, then 192 bytes per 384-dimension window.
    let packed = count_rows(
        data.path(),
        "SELECT COUNT(*) FROM embeddings WHERE hex(substr(vector, 1, 1)) = 'F4' \
         AND (length(vector) - 1) % 192 = 0",
    );
    assert_eq!(packed, embeddings_before);
    // One damaged row is left out; every other vector still answers.
    rusqlite::Connection::open(data.path().join("user_data/default/meta.sqlite"))
        .unwrap()
        .execute_batch(
            "UPDATE embeddings SET vector = x'0102' WHERE content_hash = \
               (SELECT content_hash FROM chunks GROUP BY content_hash HAVING COUNT(*) = 1 LIMIT 1);
             UPDATE state SET value = value + 1 WHERE key = 'generation';",
        )
        .unwrap();
    let engine = open_engine(data.path());
    let hits = search(
        &engine,
        "distance between two places on the globe",
        Semantic,
    );
    assert!(!hits.is_empty());
    assert_eq!(
        engine.vector_index_info().unwrap().chunks + 1,
        stats.embedded_chunks
    );
}

/// A search sees what an indexer commits: at once when the indexer runs in the same engine
/// (it keeps the vectors in memory in step), and soon when it runs in another process
/// (the searcher notices the database moved and reads the vectors again).
#[test]
fn searches_see_new_vectors_from_this_engine_and_from_another() {
    let (_src, repo) = copy_fixture("polyglot");
    let data = tempfile::tempdir().unwrap();
    let engine = open_engine(data.path());
    engine.add_repo(&repo, None).unwrap();
    index_all(&engine);
    let query = "how far apart two cities are along the surface of the earth";
    assert!(position(&search(&engine, query, Semantic), "go/far.go", "surfaceGap").is_none());

    // The same engine indexes a new file: the next search finds it.
    fs::create_dir_all(repo.join("go")).unwrap();
    fs::write(
        repo.join("go/far.go"),
        "package geo\n\n// surfaceGap is the great-circle distance in km between two \
         points given as latitude and longitude.\nfunc surfaceGap(lat1, lon1, lat2, lon2 \
         float64) float64 {\n\treturn haversine(lat1, lon1, lat2, lon2) * 6371\n}\n",
    )
    .unwrap();
    let report = index_all(&engine);
    assert!(report.embeddings_computed >= 1, "{report:?}");
    assert!(position(&search(&engine, query, Semantic), "go/far.go", "surfaceGap").is_some());

    // Another engine (as another process would) removes it: this one stops returning it,
    // at the latest after its reload interval.
    let other = open_engine(data.path());
    fs::remove_file(repo.join("go/far.go")).unwrap();
    fs::write(
        repo.join("go/near.go"),
        "package geo\n\n// nearbyKm tells how many kilometres separate two places on the \
         globe.\nfunc nearbyKm(a, b Place) float64 {\n\treturn surface(a, b)\n}\n",
    )
    .unwrap();
    let report = index_all(&other);
    assert_eq!(report.files_removed, 1, "{report:?}");
    drop(other);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let hits = search(&engine, query, Semantic);
        let gone = position(&hits, "go/far.go", "surfaceGap").is_none();
        let new = hits.iter().any(|h| h.path == "go/near.go");
        if gone && new {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the other engine's writes never showed: {:?}",
            paths(&hits)
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let stats = engine.stats().unwrap();
    assert_eq!(
        engine.vector_index_info().unwrap().chunks,
        stats.embedded_chunks
    );
}

/// Chunk texts are not stored: snippets are read back from the file and checked against
/// the chunk's hash, so a file edited after indexing is marked stale, never shown wrong.
#[test]
fn snippets_come_from_the_files_and_an_edited_file_is_marked_stale_not_misquoted() {
    let (_src, repo) = copy_fixture("polyglot");
    let data = tempfile::tempdir().unwrap();
    let engine = open_engine(data.path());
    engine.add_repo(&repo, None).unwrap();
    index_all(&engine);
    let db = rusqlite::Connection::open(data.path().join("user_data/default/meta.sqlite")).unwrap();
    let stored: i64 = db
        .query_row(
            "SELECT COALESCE(SUM(length(text)), 0) FROM chunks",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(stored, 0, "no chunk text in the database");

    let slug = |engine: &ferret_engine::Engine, query: &str| {
        search(engine, query, Lexical).into_iter().find(|h| {
            h.path == "lib/slugify.rb" && h.symbol.as_deref() == Some("TextUtils.slugify")
        })
    };
    let hit = slug(&engine, "slugify downcase").expect("found before the edit");
    assert!(!hit.stale);
    assert!(
        hit.snippet.contains("def self.slugify(title)"),
        "{}",
        hit.snippet
    );
    // A phrase is checked on the text read from the file.
    assert!(search(&engine, "\"gsub(/\\s+/, \"-\")\"", Lexical)
        .iter()
        .any(|h| h.path == "lib/slugify.rb"));

    // The file changes and is not indexed again yet: the same bytes now hold other text.
    let file = repo.join("lib/slugify.rb");
    let old = fs::read_to_string(&file).unwrap();
    fs::write(&file, old.replace("downcase.strip", "upcase.lstrip!")).unwrap();
    let hit = slug(&engine, "slugify downcase").expect("still in the lexical index");
    assert!(hit.stale, "{hit:?}");
    assert_eq!(hit.snippet, "", "never another text than the one indexed");
    // Other files are unaffected.
    let ring = search(&engine, "ring buffer", Lexical);
    let other = ring
        .iter()
        .find(|h| h.path.ends_with("ring_buffer.c"))
        .expect("ring buffer");
    assert!(!other.stale && !other.snippet.is_empty());
    // A phrase that cannot be checked against the indexed text is not claimed.
    assert!(!search(&engine, "\"downcase.strip\"", Lexical)
        .iter()
        .any(|h| h.path == "lib/slugify.rb"));

    // Indexed again: the new text, not stale.
    index_all(&engine);
    let hit = slug(&engine, "slugify upcase").expect("found after re-indexing");
    assert!(!hit.stale);
    assert!(hit.snippet.contains("upcase.lstrip!"), "{}", hit.snippet);
    // A deleted file's leftover rows are stale too, not an error.
    fs::remove_file(&file).unwrap();
    let hit = slug(&engine, "slugify upcase").expect("rows remain until the next run");
    assert!(hit.stale);
}

#[test]
fn bad_input_is_skipped_with_a_reason_and_never_stops_indexing() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("messy");
    fs::create_dir_all(repo.join("src")).unwrap();
    fs::write(
        repo.join("src/good.rs"),
        "/// Returns the answer.\npub fn answer() -> u32 { 42 }\n",
    )
    .unwrap();
    fs::write(repo.join("src/blob.rs"), b"fn x() {}\0\0\x01\x02binary").unwrap();
    fs::write(
        repo.join("src/latin1.py"),
        b"# caf\xe9\ndef f():\n    return 1\n",
    )
    .unwrap();
    fs::write(repo.join("src/app.min.js"), "var a=1;".repeat(100)).unwrap();
    fs::write(repo.join("src/bundle.js"), "var a=1;".repeat(5000)).unwrap();
    fs::write(repo.join("Cargo.lock"), "# generated").unwrap();
    fs::write(repo.join("empty.rs"), "").unwrap();
    let huge = fs::File::create(repo.join("huge.txt")).unwrap();
    huge.set_len(50 * 1024 * 1024).unwrap();
    std::os::unix::fs::symlink(&repo, repo.join("src/loop")).unwrap();
    std::os::unix::fs::symlink(repo.join("nowhere"), repo.join("dangling.rs")).unwrap();
    let locked = repo.join("locked");
    fs::create_dir_all(&locked).unwrap();
    fs::write(locked.join("hidden.rs"), "fn hidden() {}").unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
    // Root reads anything, so the unreadable-directory case is only observable as a user.
    let can_lock = fs::read_dir(&locked).is_err();

    let data = tempfile::tempdir().unwrap();
    let engine = open_engine(data.path());
    engine.add_repo(&repo, None).unwrap();
    let report = index_all(&engine);
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o755)).unwrap();

    let stats = engine.stats().unwrap();
    let skipped = |reason: &str| stats.skipped.get(reason).copied().unwrap_or(0);
    assert_eq!(skipped("binary"), 1, "{stats:?}");
    assert_eq!(skipped("too-large"), 1, "{stats:?}");
    assert_eq!(skipped("invalid-utf8"), 1, "{stats:?}");
    assert_eq!(skipped("minified"), 1, "{stats:?}");
    assert_eq!(skipped("generated"), 2, "{stats:?}"); // Cargo.lock, app.min.js
    assert_eq!(skipped("symlink"), 2, "{stats:?}");
    if can_lock {
        assert_eq!(skipped("unreadable"), 1, "{stats:?}");
    }
    assert!(report.files_skipped >= 8);
    let hits = search(&engine, "answer", Lexical);
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].path, "src/good.rs");
    assert!(
        !engine
            .index(None, &AtomicBool::new(false), false, &|_| {})
            .unwrap()
            .interrupted
    );
}

/// The first index of a repository just added runs document batches on every core, even in
/// a process whose background work keeps to half (the app, `ferret daemon`); the runs after
/// it go back to half. A caller that fixes the thread count gets exactly that count.
#[test]
fn the_first_index_of_a_new_repository_uses_every_core_then_half() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (_src, repo) = copy_fixture("polyglot");
    let data = tempfile::tempdir().unwrap();
    let engine = ferret_engine::Engine::open(ferret_engine::EngineOptions {
        data_root: Some(data.path().to_path_buf()),
        profile: None,
        model_dir: Some(model_dir()),
        threads: None,
    })
    .unwrap();
    engine.add_repo(&repo, None).unwrap();
    index_all(&engine);
    let embedder = engine.embedder().unwrap();
    assert_eq!(embedder.threads(), cores, "first index");
    fs::write(repo.join("lib/added.rb"), "def added_later\n  42\nend\n").unwrap();
    assert_eq!(index_all(&engine).embeddings_computed, 1);
    assert_eq!(
        embedder.threads(),
        (cores / 2).max(1),
        "background re-index"
    );

    let fixed = tempfile::tempdir().unwrap();
    let engine = open_engine(fixed.path()); // threads: Some(1)
    engine.add_repo(&repo, None).unwrap();
    index_all(&engine);
    assert_eq!(engine.embedder().unwrap().threads(), 1);
}

/// A model nobody used for a while is unloaded (an app idling in the tray holds none), never
/// while something holds it, and the next search loads it again. The background timer does
/// it by itself.
#[test]
fn an_idle_model_is_unloaded_and_the_next_search_loads_it_again() {
    use std::time::{Duration, Instant};
    let (_src, repo) = copy_fixture("polyglot");
    let data = tempfile::tempdir().unwrap();
    let engine = std::sync::Arc::new(open_engine(data.path()));
    engine.add_repo(&repo, None).unwrap();
    index_all(&engine);
    let before = search(&engine, "turn a title into a url slug", Semantic);
    assert!(engine.model_ready());

    let held = engine.embedder().unwrap();
    assert!(!engine.release_idle_models(Duration::ZERO), "in use");
    assert!(engine.model_ready());
    drop(held);
    assert!(
        !engine.release_idle_models(Duration::from_secs(3600)),
        "used just now"
    );
    assert!(engine.release_idle_models(Duration::ZERO));
    assert!(!engine.model_ready());
    assert_eq!(
        paths(&search(&engine, "turn a title into a url slug", Semantic)),
        paths(&before)
    );
    assert!(engine.model_ready());

    let opts = ferret_engine::background::BackgroundOptions {
        index_at_start: false,
        fetch_interval: None,
        unload_model_after: Some(Duration::from_millis(400)),
        ..ferret_engine::background::BackgroundOptions::for_engine(&engine)
    };
    let background = ferret_engine::background::ProfileBackground::start(
        engine.clone(),
        opts,
        std::sync::Arc::new(|_: &ferret_engine::background::JobEvent| {}),
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while engine.model_ready() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!engine.model_ready(), "the timer unloads an idle model");
    drop(background);
}

/// A bare symbol query shows the definition from its beginning (the `struct` with its doc
/// comment), not the fragment of it that matched best (a one-line `impl Semaphore {` of a
/// block too big for one chunk), and the type's file comes before files that only use it.
#[test]
fn a_symbol_query_shows_the_definition_from_its_beginning() {
    let src = tempfile::tempdir().unwrap();
    let methods: String = (0..12)
        .map(|i| {
            format!(
                "    /// Takes {i} permits, waiting while fewer are left.\n    \
                 pub fn acquire_{i}(&self) -> usize {{\n        \
                 let left = self.permits.saturating_sub({i});\n        left * {i} + 1\n    }}\n\n"
            )
        })
        .collect();
    fs::create_dir_all(src.path().join("src")).unwrap();
    fs::write(
        src.path().join("src/semaphore.rs"),
        format!(
            "/// Counts permits shared by tasks.\npub struct Semaphore {{\n    permits: usize,\n}}\n\n\
             impl Semaphore {{\n{methods}}}\n"
        ),
    )
    .unwrap();
    fs::write(
        src.path().join("src/pool.rs"),
        "use crate::semaphore::Semaphore;\n\npub fn pool(s: &Semaphore) -> usize {\n    s.acquire_1()\n}\n",
    )
    .unwrap();
    let data = tempfile::tempdir().unwrap();
    let engine = open_engine(data.path());
    engine.add_repo(src.path(), None).unwrap();
    index_all(&engine);
    for mode in [Lexical, Hybrid] {
        let hits = search(&engine, "Semaphore", mode);
        let top = &hits[0];
        assert_eq!(
            (top.path.as_str(), top.symbol.as_deref(), top.kind.as_str()),
            ("src/semaphore.rs", Some("Semaphore"), "struct"),
            "{mode:?}: {:?}",
            paths(&hits)
        );
        assert_eq!(top.start_line, 1, "{mode:?}: the doc comment starts it");
    }
}

/// A pasted error message quotes a value the code never holds: the page is filled, after
/// the results that hold the quoted text, from the same search with the quotes read as
/// words, so the function that prints the message is found.
#[test]
fn a_quoted_value_the_code_never_holds_still_finds_the_message() {
    let src = tempfile::tempdir().unwrap();
    fs::write(
        src.path().join("command.go"),
        "package cli\n\nimport \"fmt\"\n\n\
         // ValidateRequiredFlags reports the flags that were not given.\n\
         func ValidateRequiredFlags(missing []string) error {\n\
         \tif len(missing) > 0 {\n\
         \t\treturn fmt.Errorf(`required flag(s) \"%s\" not set`, missing[0])\n\
         \t}\n\treturn nil\n}\n",
    )
    .unwrap();
    fs::write(
        src.path().join("settings.go"),
        "package cli\n\n// LoadConfig reads the config file.\nfunc LoadConfig(path string) string {\n\treturn \"config\"\n}\n",
    )
    .unwrap();
    let data = tempfile::tempdir().unwrap();
    let engine = open_engine(data.path());
    engine.add_repo(src.path(), None).unwrap();
    index_all(&engine);
    let hits = search(
        &engine,
        r#"Error: required flag(s) "config" not set"#,
        Lexical,
    );
    assert_eq!(hits[0].path, "settings.go", "{:?}", paths(&hits));
    assert!(hits[0].signals.iter().all(|s| s.signal != "phrase"));
    let message = hits
        .iter()
        .find(|h| h.symbol.as_deref() == Some("ValidateRequiredFlags"))
        .unwrap_or_else(|| panic!("the message's function is missing: {:?}", paths(&hits)));
    assert!(
        message.signals.iter().any(|s| s.signal == "phrase"),
        "{:?}",
        message.signals
    );
}
