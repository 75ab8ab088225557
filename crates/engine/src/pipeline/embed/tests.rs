use super::*;

fn default_spec() -> &'static ModelSpec {
    models::find(models::DEFAULT_MODEL).unwrap()
}

fn f32_spec() -> &'static ModelSpec {
    models::find(models::ORIGINAL_DEFAULT_MODEL).unwrap()
}

fn embedder() -> Embedder {
    embedder_of(default_spec())
}

fn embedder_of(spec: &'static ModelSpec) -> Embedder {
    let dir = default_model_dir().expect("model dir: run scripts/setup.sh");
    Embedder::load(
        &dir,
        spec,
        &EmbedOptions {
            threads: 1,
            batch_size: 4,
        },
    )
    .unwrap()
}

/// A copy of the default version with a query adapter at `path` whose sha256 is
/// `sha256`, and a model directory holding links to the real model files.
fn spec_with_adapter(sha256: &'static str) -> (&'static ModelSpec, tempfile::TempDir) {
    let real = default_model_dir().expect("model dir: run scripts/setup.sh");
    let spec: &'static ModelSpec = Box::leak(Box::new(ModelSpec {
        query_adapter: Some(models::ModelFile {
            path: "all-minilm-l6-v2-int8/query-adapter-test.bin",
            sha256,
        }),
        ..*default_spec()
    }));
    let dir = tempfile::tempdir().unwrap();
    for file in std::iter::once(&models::ORT_LIBRARY).chain(spec.files) {
        let path = dir.path().join(file.path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(real.join(file.path), &path).unwrap();
        #[cfg(not(unix))]
        std::fs::copy(real.join(file.path), &path).unwrap();
    }
    (spec, dir)
}

/// A small adapter that moves vectors visibly: `W` mixes neighbouring dimensions.
fn mixing_adapter(dims: usize) -> QueryAdapter {
    let mut weights = vec![0f32; dims * dims];
    for i in 0..dims {
        weights[i * dims + (i + 1) % dims] = 0.5;
    }
    QueryAdapter::new(dims, weights, vec![0.01; dims]).unwrap()
}

/// The version's adapter file is checked like the model's files: missing, or not the
/// catalogued file, is an error naming it and the fix; the right one is loaded.
#[test]
fn a_missing_or_wrong_query_adapter_is_refused_naming_the_file() {
    let adapter = mixing_adapter(default_spec().dims);
    let bytes = adapter.to_bytes();
    let good = {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.bin");
        std::fs::write(&path, &bytes).unwrap();
        models::sha256_file(&path).unwrap()
    };
    let (spec, dir) = spec_with_adapter(Box::leak(good.into_boxed_str()));
    let opts = EmbedOptions {
        threads: 1,
        batch_size: 4,
    };
    let err = Embedder::load(dir.path(), spec, &opts)
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("query-adapter-test.bin") && err.contains("is missing"),
        "{err}"
    );
    let path = dir.path().join(spec.query_adapter.unwrap().path);
    let mut wrong = bytes.clone();
    wrong[100] ^= 1;
    std::fs::write(&path, &wrong).unwrap();
    let err = Embedder::load(dir.path(), spec, &opts)
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("query-adapter-test.bin")
            && err.contains("is not the expected file")
            && err.contains("scripts/setup.sh"),
        "{err}"
    );
    std::fs::write(&path, &bytes).unwrap();
    let e = Embedder::load(dir.path(), spec, &opts).unwrap();
    assert_eq!(e.query_adapter(), Some(&adapter));
}

/// The adapter moves query vectors, to exactly its map of the model's vector, and
/// leaves document vectors as they are: nothing indexed needs re-embedding.
#[test]
fn the_query_adapter_moves_queries_and_never_documents() {
    let bare = embedder().with_query_adapter(None);
    let adapter = mixing_adapter(bare.dims());
    let adapted = embedder().with_query_adapter(Some(adapter.clone()));
    let texts = vec![
        "fn load(path: &Path) -> io::Result<String> { std::fs::read_to_string(path) }".to_string(),
        "src/walk.rs function skip_hidden\nfn skip_hidden(entry: &DirEntry) -> bool {}".to_string(),
    ];
    assert_eq!(
        bare.embed_documents(&texts).unwrap(),
        adapted.embed_documents(&texts).unwrap()
    );
    let question = "where are hidden files skipped";
    let own = bare.embed_query(question).unwrap();
    let moved = adapted.embed_query(question).unwrap();
    assert!(cosine(&own, &moved) < 0.99, "{}", cosine(&own, &moved));
    let expected = adapter.apply(&own);
    assert!(moved
        .iter()
        .zip(&expected)
        .all(|(a, b)| (a - b).abs() < 1e-6));
}

/// A model directory whose ONNX Runtime library is not the catalogue's (the model
/// files beside it are the real ones) is refused before the library is loaded.
#[cfg(unix)]
#[test]
fn a_tampered_runtime_library_is_refused_before_it_is_loaded() {
    let real = default_model_dir().expect("model dir: run scripts/setup.sh");
    let spec = default_spec();
    let dir = tempfile::tempdir().unwrap();
    for file in spec.files {
        let path = dir.path().join(file.path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(real.join(file.path), &path).unwrap();
    }
    let library = dir.path().join(models::ORT_LIBRARY.path);
    std::fs::create_dir_all(library.parent().unwrap()).unwrap();
    std::fs::write(&library, b"\x7fELF not the runtime").unwrap();
    let opts = EmbedOptions {
        threads: 1,
        batch_size: 4,
    };
    for err in [
        Embedder::load(dir.path(), spec, &opts).err().unwrap(),
        RawBaseline::load(dir.path(), spec, &opts).err().unwrap(),
    ] {
        let err = err.to_string();
        assert!(
            err.contains("libonnxruntime") && err.contains("is not the expected file"),
            "{err}"
        );
    }
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[test]
fn embeddings_are_unit_vectors_that_rank_meaning() {
    let e = embedder();
    assert_eq!(e.dims(), default_spec().dims);
    let query = e.embed_query("read a file into a string").unwrap();
    let texts = vec![
        "fn load(path: &Path) -> io::Result<String> { std::fs::read_to_string(path) }".to_string(),
        "fn total(items: &[Item]) -> f64 { items.iter().map(|i| i.price).sum() }".to_string(),
    ];
    let docs = e.embed_documents(&texts).unwrap();
    for v in docs.iter().chain([&query]) {
        let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-3, "norm {norm}");
    }
    assert!(cosine(&query, &docs[0]) > cosine(&query, &docs[1]) + 0.1);
}

/// Texts embedded in sorted batches come back in the caller's order: each is the vector
/// the text gets alone. The f32 version computes exactly that; the int8-arithmetic one
/// quantizes each call's activations as a whole, so a text's vector depends a little on
/// its batch (cosine to the lone vector 0.98-1 in measurements), never on its position.
#[test]
fn batching_and_sorting_keep_the_callers_order() {
    let texts: Vec<String> = (0..9)
        .map(|i| format!("item {i} {}", "word ".repeat(i * 7)))
        .rev()
        .collect();
    for (spec, at_least) in [(f32_spec(), 0.999), (default_spec(), 0.97)] {
        let e = embedder_of(spec).with_query_adapter(None);
        let batch = e.embed_documents(&texts).unwrap();
        for (i, text) in texts.iter().enumerate() {
            let single = e.embed_query(text).unwrap();
            let mine = cosine(&single, &batch[i]);
            assert!(mine > at_least, "{}: {text}: {mine}", spec.id);
            for (j, other) in batch.iter().enumerate().filter(|&(j, _)| j != i) {
                assert!(mine > cosine(&single, other), "{}: {i} vs {j}", spec.id);
            }
        }
    }
    let e = embedder();
    assert!(e.embed_documents(&[]).unwrap().is_empty());
    let long = "token ".repeat(5000);
    assert_eq!(
        e.embed_documents(std::slice::from_ref(&long)).unwrap()[0].len(),
        default_spec().dims
    );
    assert_eq!(e.count_tokens(&[long]).unwrap(), 128);
}

#[test]
fn a_query_does_not_wait_for_a_busy_model() {
    // Compares a query with documents: the model's own query vectors.
    let e = embedder().with_query_adapter(None);
    let text = "open the configuration file".to_string();
    let free = e.embed_query(&text).unwrap();
    assert!(!e.has_query_session(), "loaded only when needed");
    // A document batch holds the model: the query runs on the second session, which
    // gives the same vector.
    let busy = {
        let _held = e.model.lock().unwrap();
        e.embed_query(&text).unwrap()
    };
    assert!(e.has_query_session());
    assert!(cosine(&free, &busy) > 0.999);
    assert!(
        cosine(
            &e.embed_documents(std::slice::from_ref(&text)).unwrap()[0],
            &busy
        ) > 0.999
    );
    // Let go when indexing ends; loaded again when the model is next busy.
    e.release_query_session();
    assert!(!e.has_query_session());
    let again = {
        let _held = e.model.lock().unwrap();
        e.embed_query(&text).unwrap()
    };
    assert!(e.has_query_session());
    assert!(cosine(&again, &busy) > 0.999);
}

#[test]
fn raw_baseline_matches_the_embedder() {
    let dir = default_model_dir().unwrap();
    let raw = RawBaseline::load(
        &dir,
        default_spec(),
        &EmbedOptions {
            threads: 1,
            ..Default::default()
        },
    )
    .unwrap();
    let e = embedder();
    let texts = vec![
        "fn main() { println!(\"hi\"); }".to_string(),
        "parse command line flags".to_string(),
    ];
    for (a, b) in raw
        .embed(&texts)
        .unwrap()
        .iter()
        .zip(e.embed_documents(&texts).unwrap())
    {
        assert!(cosine(a, &b) > 0.999);
    }
}

/// The shipped model's two lookup tables are rewritten, and the rewritten model gives
/// exactly the same numbers.
#[test]
fn the_lean_model_computes_exactly_what_the_shipped_one_does() {
    let dir = default_model_dir().unwrap();
    let spec = default_spec();
    let shipped = read(&dir.join(spec.dir).join("model.onnx")).unwrap();
    let (lean, tables) = gather_first::rewrite(&shipped).unwrap();
    assert_eq!(tables, 2, "token and position tables");
    let opts = EmbedOptions {
        threads: 1,
        ..Default::default()
    };
    let texts = vec![
        "fn main() { println!(\"hi\"); }".to_string(),
        "parse command line flags into a configuration".to_string(),
    ];
    let a = RawBaseline::with_model(&dir, spec, &opts, &shipped).unwrap();
    let b = RawBaseline::with_model(&dir, spec, &opts, &lean).unwrap();
    assert_eq!(a.embed(&texts).unwrap(), b.embed(&texts).unwrap());
}

#[test]
fn batches_hold_similar_lengths_within_the_token_budget() {
    let tokens = [128, 5, 128, 60, 128, 61, 128, 128, 7, 300];
    let batches = plan_batches(&tokens, 8, 512);
    // Every text once.
    let mut seen: Vec<usize> = batches.concat();
    seen.sort_unstable();
    assert_eq!(seen, (0..tokens.len()).collect::<Vec<_>>());
    for batch in &batches {
        let longest = batch.iter().map(|&i| tokens[i]).max().unwrap();
        assert!(batch.len() <= 8);
        assert!(
            batch.len() == 1 || batch.len() * longest <= 512,
            "{batch:?}"
        );
    }
    // Short texts share a call, 128-token ones go four at a time, and the text over the
    // budget goes alone.
    let sizes: Vec<usize> = batches.iter().map(Vec::len).collect();
    assert_eq!(sizes, [4, 4, 1, 1]);
    assert_eq!(batches[3], [9]);
    assert_eq!(plan_batches(&[10; 20], 8, 512).len(), 3);
    assert!(plan_batches(&[], 8, 512).is_empty());
}

/// The int8-matmul version rewrites all 36 weight matmuls of the shipped model, and its
/// vectors of real code stay close to the f32 version's (they are not equal, which is
/// why it is a version of its own).
#[test]
fn the_int8_matmul_version_stays_close_to_the_f32_one() {
    let dir = default_model_dir().unwrap();
    let (f32_spec, int8_spec) = (f32_spec(), default_spec());
    assert!(int8_spec.int8_matmuls && !f32_spec.int8_matmuls);
    assert_eq!(int8_spec.dir, f32_spec.dir, "same weights");
    let lean = model_graph(&dir, f32_spec).unwrap();
    let (_, count) = int8_matmul::rewrite(&lean).unwrap();
    assert_eq!(count, 36, "six layers, six weight matmuls each");
    let opts = EmbedOptions {
        threads: 2,
        ..Default::default()
    };
    let src =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/search/mod.rs")).unwrap();
    let texts: Vec<String> = src
        .as_bytes()
        .chunks(500)
        .take(48)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    let embed_all = |spec| {
        let model = RawBaseline::load(&dir, spec, &opts).unwrap();
        let vectors: Vec<Vec<f32>> = texts
            .chunks(4)
            .flat_map(|c| model.embed(c).unwrap())
            .collect();
        vectors
    };
    let (f32_vectors, int8_vectors) = (embed_all(f32_spec), embed_all(int8_spec));
    let cosines: Vec<f32> = f32_vectors
        .iter()
        .zip(&int8_vectors)
        .map(|(a, b)| cosine(a, b))
        .collect();
    let min = cosines.iter().copied().fold(1.0, f32::min);
    let mean = cosines.iter().sum::<f32>() / cosines.len() as f32;
    assert!(min > 0.98 && mean > 0.99, "min {min}, mean {mean}");
    assert!(min < 0.99999, "the int8 version computes something else");
}

/// Threads of this process that a `priority::in_background` thread started and that
/// outlived it (ONNX Runtime's pool threads: a thread inherits its creator's name), with
/// their nice values.
#[cfg(target_os = "linux")]
fn pool_threads() -> std::collections::HashMap<String, i32> {
    let mut found = std::collections::HashMap::new();
    for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let path = task.path();
        let (Ok(comm), Ok(stat)) = (
            std::fs::read_to_string(path.join("comm")),
            std::fs::read_to_string(path.join("stat")),
        ) else {
            continue; // ended meanwhile
        };
        // After the ")" closing the name: state, then fields 4.. of proc(5); nice is 19.
        let nice = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(16))
            .and_then(|n| n.parse().ok());
        if let (true, Some(nice)) = (comm.trim_end() == "ferret-index", nice) {
            found.insert(task.file_name().to_string_lossy().into_owned(), nice);
        }
    }
    found
}

/// A session a search loaded at normal priority is rebuilt once when the job runner
/// indexes with it, so ONNX Runtime's pool threads run at background priority too; and
/// back when a terminal's index at normal priority uses it.
#[test]
fn sessions_follow_the_priority_of_the_indexer() {
    if priority::is_background() {
        eprintln!("skipped: the tests themselves run at background priority (nice)");
        return;
    }
    let e = embedder();
    assert!(!e.background.load(Ordering::Acquire));
    #[cfg(target_os = "linux")]
    let before = pool_threads();
    priority::in_background(|| e.set_threads(2)).unwrap();
    assert_eq!(e.threads(), 2);
    assert!(e.background.load(Ordering::Acquire));
    #[cfg(target_os = "linux")]
    {
        let pool: Vec<i32> = pool_threads()
            .into_iter()
            .filter(|(tid, _)| !before.contains_key(tid))
            .map(|(_, nice)| nice)
            .collect();
        assert!(
            pool.contains(&priority::BACKGROUND_NICE),
            "a pool thread at background priority: {pool:?}"
        );
    }
    let texts = vec!["fn main() {}".to_string(); 3];
    let niced = priority::in_background(|| e.embed_documents(&texts)).unwrap();
    e.set_threads(2).unwrap();
    assert!(!e.background.load(Ordering::Acquire));
    assert_eq!(e.embed_documents(&texts).unwrap(), niced, "same numbers");
}

#[test]
fn missing_model_files_are_an_actionable_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = Embedder::load(dir.path(), default_spec(), &EmbedOptions::default())
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("scripts/setup.sh") && err.contains("is missing"),
        "{err}"
    );
}

/// A long definition is read in windows that each fit the model, all under the same
/// header, covering its lines in order; a short one is one window.
#[test]
fn long_documents_are_read_in_windows() {
    let dir = default_model_dir().unwrap();
    let spec = models::CATALOGUE
        .iter()
        .find(|m| m.max_windows > 1)
        .expect("a windowed model in the catalogue");
    let e = Embedder::load(&dir, spec, &EmbedOptions::default()).unwrap();
    let header = "src/parse.rs function parse_config";
    let short = e.document_windows(header, "fn parse_config() {}");
    assert_eq!(short, [format!("{header}\nfn parse_config() {{}}")]);

    let body: Vec<String> = (0..60)
        .map(|i| format!("    let value_{i} = read_setting(\"key_{i}\", defaults);"))
        .collect();
    let windows = e.document_windows(header, &body.join("\n"));
    assert!(
        windows.len() > 1 && windows.len() <= spec.max_windows,
        "{}",
        windows.len()
    );
    let mut untruncated = e.tokenizer.clone();
    untruncated.with_truncation(None).unwrap();
    for w in &windows {
        assert!(w.starts_with(header));
        let tokens = untruncated
            .encode(w.as_str(), true)
            .unwrap()
            .get_ids()
            .len();
        assert!(tokens <= spec.max_tokens, "{tokens} tokens");
    }
    // In order, no line twice, and the first window starts at the first line.
    let joined: Vec<&str> = windows.iter().flat_map(|w| w.lines().skip(1)).collect();
    assert_eq!(
        joined,
        body[..joined.len()]
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
    );
    // The windows' vectors differ: the model reads different code in each.
    let vectors = e.embed_documents(&windows).unwrap();
    assert!(vectors[0] != vectors[1]);
}
