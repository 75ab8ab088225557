use super::*;

/// Every chunk's text must be exactly its lines: results and snippets rely on it.
fn check_invariants(text: &str, chunks: &[Chunk]) {
    let lines: Vec<&str> = text.split('\n').collect();
    for c in chunks {
        assert!(c.start_line >= 1 && c.start_line <= c.end_line, "{c:?}");
        let expected = lines[c.start_line as usize - 1..c.end_line as usize].join("\n");
        assert_eq!(
            &text[c.start_byte..c.start_byte + c.text.len()],
            c.text,
            "chunk {}-{} is not the slice at its start_byte",
            c.start_line,
            c.end_line
        );
        if expected.len() <= ChunkLimits::default().max_chars {
            assert_eq!(c.text, expected, "chunk {}-{}", c.start_line, c.end_line);
        } else {
            assert!(expected.starts_with(&c.text));
        }
    }
    // Every line with a letter or digit is in some chunk.
    for (i, line) in lines.iter().enumerate() {
        if line.chars().any(char::is_alphanumeric) {
            let row = i as u32 + 1;
            assert!(
                chunks
                    .iter()
                    .any(|c| c.start_line <= row && row <= c.end_line),
                "line {row} {line:?} not covered"
            );
        }
    }
}

fn chunks_of(path: &str, text: &str) -> Vec<Chunk> {
    let chunks = chunk_text(
        detect_language(std::path::Path::new(path)),
        text,
        &ChunkLimits::default(),
    );
    check_invariants(text, &chunks);
    chunks
}

/// Asserts a chunk with `symbol` and `kind` covers `line`.
fn expect(chunks: &[Chunk], symbol: &str, kind: &str, line: u32) {
    let found = chunks.iter().find(|c| c.symbol.as_deref() == Some(symbol));
    let c = found.unwrap_or_else(|| {
        panic!(
            "no chunk for {symbol}: {:?}",
            chunks
                .iter()
                .map(|c| (&c.symbol, c.kind, c.start_line))
                .collect::<Vec<_>>()
        )
    });
    assert_eq!(c.kind, kind, "{symbol}");
    assert!(
        c.start_line <= line && line <= c.end_line,
        "{symbol}: {}-{} misses {line}",
        c.start_line,
        c.end_line
    );
}

macro_rules! fixture {
    ($path:literal) => {
        (
            $path,
            include_str!(concat!("../../../../../tests/fixtures/polyglot/", $path)),
        )
    };
}

#[test]
fn rust_definitions_with_docs_and_impl_methods() {
    let (path, text) = fixture!("src/tokenizer.rs");
    let chunks = chunks_of(path, text);
    expect(&chunks, "Token", "enum", 5);
    expect(&chunks, "tokenize_expression", "function", 14);
    // The doc comment belongs to the function's chunk.
    let f = chunks
        .iter()
        .find(|c| c.symbol.as_deref() == Some("tokenize_expression"))
        .unwrap();
    assert!(f.text.starts_with("/// Splits"), "{}", f.text);
    expect(&chunks, "RateLimiter", "struct", 57);
}

#[test]
fn each_grammar_finds_its_definitions() {
    type Expected<'a> = &'a [(&'a str, &'a str, u32)];
    let cases: &[((&str, &str), Expected)] = &[
        (
            fixture!("lib/config_loader.py"),
            &[
                ("parse_args", "function", 7),
                ("SettingsStore", "class", 17),
            ],
        ),
        (
            fixture!("web/cart.js"),
            &[("parseArgs", "function", 3), ("Cart", "class", 12)],
        ),
        (
            fixture!("web/user_service.ts"),
            &[("User", "interface", 1), ("UserService", "class", 7)],
        ),
        (
            fixture!("cmd/geo.go"),
            &[("greatCircle", "function", 12), ("main", "function", 22)],
        ),
        (fixture!("src/Inventory.java"), &[("Inventory", "class", 6)]),
        (
            fixture!("src/ring_buffer.c"),
            &[
                ("ring_buffer_new", "function", 9),
                ("ring_buffer_push", "function", 18),
                ("ring_buffer", "type", 4),
            ],
        ),
        (
            fixture!("src/matrix.cpp"),
            &[
                ("linalg", "module", 3),
                ("linalg::Matrix::multiply", "function", 10),
            ],
        ),
        (
            fixture!("src/Mailer.cs"),
            &[("Shop.Notifications", "module", 3)],
        ),
        (fixture!("lib/slugify.rb"), &[("TextUtils", "module", 1)]),
        (fixture!("web/Router.php"), &[("Router", "class", 5)]),
        (
            fixture!("scripts/backup.sh"),
            &[("rotate_backups", "function", 5)],
        ),
    ];
    for ((path, text), expected) in cases {
        let chunks = chunks_of(path, text);
        for (symbol, kind, line) in *expected {
            expect(&chunks, symbol, kind, *line);
        }
    }
}

#[test]
fn big_containers_split_into_members_with_qualified_symbols() {
    let mut src = String::from("class Service:\n    \"\"\"Does things.\"\"\"\n\n");
    for i in 0..12 {
        src.push_str(&format!("    def handler_{i}(self, request):\n"));
        for j in 0..6 {
            src.push_str(&format!("        value_{j} = request.get('{i}_{j}')\n"));
        }
        src.push_str("        return value_0\n\n");
    }
    let chunks = chunks_of("svc.py", &src);
    expect(&chunks, "Service", "class", 1);
    expect(&chunks, "Service.handler_0", "function", 4);
    expect(&chunks, "Service.handler_11", "function", 4 + 11 * 9);

    let mut rust = String::from("impl Engine {\n");
    for i in 0..10 {
        rust.push_str(&format!(
            "    /// Step {i}.\n    pub fn step_{i}(&self) -> u32 {{\n"
        ));
        for _ in 0..6 {
            rust.push_str("        let x = self.compute_something_long_enough();\n");
        }
        rust.push_str(&format!("        {i}\n    }}\n\n"));
    }
    rust.push_str("}\n");
    let chunks = chunks_of("e.rs", &rust);
    let step = chunks
        .iter()
        .find(|c| c.symbol.as_deref() == Some("Engine::step_3"))
        .expect("method chunk");
    assert!(
        step.text.trim_start().starts_with("/// Step 3."),
        "{}",
        step.text
    );
}

#[test]
fn long_definitions_become_overlapping_windows() {
    let mut src = String::from("fn long_function() {\n");
    for i in 0..200 {
        src.push_str(&format!("    let v{i} = {i};\n"));
    }
    src.push_str("}\n");
    let chunks = chunks_of("long.rs", &src);
    assert!(chunks.len() >= 4, "{}", chunks.len());
    assert!(chunks
        .iter()
        .all(|c| c.symbol.as_deref() == Some("long_function")));
    for pair in chunks.windows(2) {
        assert!(pair[1].start_line <= pair[0].end_line, "windows overlap");
        assert!(pair[0].end_line - pair[0].start_line < 50);
    }
}

#[test]
fn minified_single_line_stays_capped() {
    let line = "var a=function(){return 1};".repeat(8000);
    let chunks = chunk_text(Language::JavaScript, &line, &ChunkLimits::default());
    assert!(!chunks.is_empty());
    assert!(chunks.iter().all(|c| c.text.len() <= 1600));
    let unicode = "é".repeat(5000);
    let chunks = chunk_text(Language::Text, &unicode, &ChunkLimits::default());
    assert!(chunks
        .iter()
        .all(|c| c.text.len() <= 1600 && c.text.chars().all(|ch| ch == 'é')));
}

#[test]
fn garbage_and_edge_input_never_panics() {
    for text in [
        "",
        "\n\n\n",
        "}}}{{{",
        "fn (",
        "\0\0",
        "class",
        "def f(:\n  x",
        "🦀🦀🦀\n🦀",
    ] {
        for lang in [
            Language::Rust,
            Language::Python,
            Language::Cpp,
            Language::Php,
            Language::Text,
            Language::Markdown,
        ] {
            let chunks = chunk_text(lang, text, &ChunkLimits::default());
            check_invariants(text, &chunks);
        }
    }
}

#[test]
fn markdown_splits_at_headings() {
    let (path, text) = fixture!("README.md");
    let chunks = chunks_of(path, text);
    expect(&chunks, "Polyglot fixture", "section", 1);
    expect(&chunks, "Geography", "section", 7);
    let fenced = "# Title\n\n```sh\n# not a heading\necho hi\n```\n\n## Next\ntext\n";
    let chunks = chunks_of("x.md", fenced);
    assert_eq!(chunks.iter().filter(|c| c.kind == "section").count(), 2);
}

#[test]
fn plain_text_uses_line_windows() {
    let text: String = (0..100).map(|i| format!("line {i}\n")).collect();
    let chunks = chunks_of("notes.txt", &text);
    assert!(chunks.len() >= 3);
    assert!(chunks
        .iter()
        .all(|c| c.kind == "lines" && c.symbol.is_none()));
}
