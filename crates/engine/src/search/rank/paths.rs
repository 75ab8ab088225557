//! What a file's path says about it, independent of the query's meaning.
//!
//! People ask about the code that does the work. Tests, examples, docs, benchmarks,
//! vendored and amalgamated copies, generated files, compatibility shims, type stubs and
//! re-export barrels all *mention* what they ask about, often more densely than the
//! definition does (a test calls the function ten times; a Markdown page explains it in the
//! query's own words), so both rankings like them. A path prior lowers them, unless the
//! query asks for them (`test parser`, `example`, `path:`).
//!
//! Path evidence is the other direction: a query word that names the file or its folder
//! (`session management` → `sessions.py`, `middleware` → `middleware/cors.ts`) is strong
//! evidence the file is about it.

use crate::pipeline::tokens::split_identifier;

/// A kind of file that is rarely the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathPrior {
    Test,
    Example,
    Doc,
    Bench,
    Vendored,
    Generated,
    Compat,
    TypeStub,
    Barrel,
    /// A C or C++ header beside the source file that implements it (`transfer.h` next to
    /// `transfer.c`): declarations, where the question is about the implementation. Not
    /// decided by the path alone (a header-only library's headers are its code), so
    /// [`path_priors`] never returns it: the search knows which sources exist.
    Header,
}

impl PathPrior {
    pub const ALL: [PathPrior; 10] = [
        PathPrior::Test,
        PathPrior::Example,
        PathPrior::Doc,
        PathPrior::Bench,
        PathPrior::Vendored,
        PathPrior::Generated,
        PathPrior::Compat,
        PathPrior::TypeStub,
        PathPrior::Barrel,
        PathPrior::Header,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PathPrior::Test => "test file",
            PathPrior::Example => "example",
            PathPrior::Doc => "documentation",
            PathPrior::Bench => "benchmark",
            PathPrior::Vendored => "vendored copy",
            PathPrior::Generated => "generated file",
            PathPrior::Compat => "compatibility shim",
            PathPrior::TypeStub => "type stub",
            PathPrior::Barrel => "re-export file",
            PathPrior::Header => "header beside its source",
        }
    }

    /// Query words that ask for this kind of file, so it is not lowered.
    fn asked_by(self) -> &'static [&'static str] {
        match self {
            PathPrior::Test => &[
                "test", "tests", "testing", "tested", "spec", "specs", "fixture", "fixtures",
                "mock", "mocks",
            ],
            PathPrior::Example => &[
                "example", "examples", "sample", "samples", "demo", "tutorial",
            ],
            PathPrior::Doc => &[
                "doc",
                "docs",
                "documentation",
                "documented",
                "readme",
                "guide",
                "changelog",
                "manual",
                "license",
                "licence",
                "licenses",
                "licensing",
                "copyright",
            ],
            PathPrior::Bench => &["bench", "benches", "benchmark", "benchmarks"],
            PathPrior::Vendored => &["vendor", "vendored", "third_party", "thirdparty"],
            PathPrior::Generated => &["generated", "codegen", "protobuf"],
            PathPrior::Compat => &[
                "compat",
                "compatibility",
                "legacy",
                "deprecated",
                "polyfill",
                "shim",
            ],
            PathPrior::TypeStub => &["stub", "stubs", "declaration", "declarations", "typings"],
            PathPrior::Barrel => &["export", "exports", "reexport", "package", "init"],
            PathPrior::Header => &[
                "header",
                "headers",
                "declaration",
                "declarations",
                "declared",
                "prototype",
                "prototypes",
            ],
        }
    }

    /// Whether any of the query's `keywords` (lowercase) asks for this kind of file.
    pub fn asked_for(self, keywords: &[String]) -> bool {
        keywords
            .iter()
            .any(|k| self.asked_by().contains(&k.as_str()))
    }
}

/// Every prior that applies to the file at `path` (relative, `/`-separated). `definition`
/// says whether the chunk is a definition (has a symbol): the chunks of a re-export
/// barrel (`mod.rs`, `index.ts`) are plain lines.
pub fn path_priors(path: &str, definition: bool) -> Vec<PathPrior> {
    let lower = path.to_ascii_lowercase();
    let (dirs, name) = match lower.rsplit_once('/') {
        Some((dirs, name)) => (dirs.split('/').collect::<Vec<_>>(), name),
        None => (Vec::new(), lower.as_str()),
    };
    let has_dir = |names: &[&str]| dirs.iter().any(|d| names.contains(d));
    let (stem, ext) = match name.rsplit_once('.') {
        Some((stem, ext)) => (stem, ext),
        None => (name, ""),
    };
    let mut out = Vec::new();

    let test_name = stem.starts_with("test_")
        || stem.ends_with("_test")
        || stem.ends_with("_tests")
        || stem.ends_with("_spec")
        || stem.ends_with(".test")
        || stem.ends_with(".spec")
        || stem == "test"
        || stem == "tests"
        || stem == "conftest"
        || stem.starts_with("test_helper")
        // Java, C#, Kotlin, Swift, PHP, Scala: FooTest, FooTests, FooSpec (case kept).
        || original_stem(path).is_some_and(|s| {
            ["Test", "Tests", "Spec", "Suite"]
                .iter()
                .any(|suffix| s.len() > suffix.len() && s.ends_with(suffix))
        });
    if test_name
        || has_dir(&[
            "test",
            "tests",
            "__tests__",
            "spec",
            "specs",
            "testing",
            "testdata",
            "test-data",
            "fixtures",
            "__mocks__",
        ])
    {
        out.push(PathPrior::Test);
    }
    if has_dir(&[
        "example",
        "examples",
        "_example",
        "_examples",
        "docs_src",
        "samples",
        "sample",
        "demo",
        "demos",
    ]) {
        out.push(PathPrior::Example);
    }
    // Licences and project paperwork (`LICENSE-MIT`, `COPYING.LESSER`, `UNLICENSE`) are
    // prose about the project, never its code: named so, without an extension or in
    // capitals (`notice.rs` and `licenser.rs` are code).
    let first_word = stem.split(['-', '_']).next().unwrap_or(stem);
    let paperwork = [
        "license",
        "licence",
        "unlicense",
        "copying",
        "notice",
        "authors",
        "contributors",
        "changelog",
    ]
    .contains(&first_word)
        && (ext.is_empty()
            || original_stem(path).is_some_and(|s| !s.chars().any(|c| c.is_lowercase())));
    if matches!(ext, "md" | "markdown" | "rst" | "adoc" | "txt" | "mdx")
        || has_dir(&["doc", "docs", "documentation"])
        || paperwork
    {
        out.push(PathPrior::Doc);
    }
    if has_dir(&["bench", "benches", "benchmark", "benchmarks"])
        || stem.ends_with("_bench")
        || stem.ends_with(".bench")
        || stem.starts_with("bench_")
    {
        out.push(PathPrior::Bench);
    }
    if has_dir(&[
        "vendor",
        "vendored",
        "third_party",
        "third-party",
        "thirdparty",
        "node_modules",
        "external",
        "deps",
    ]) || stem.contains("amalgamat")
        || has_dir(&["single_include", "amalgamation"])
    {
        out.push(PathPrior::Vendored);
    }
    if stem.ends_with(".pb")
        || stem.ends_with("_pb2")
        || stem.ends_with("_pb2_grpc")
        || stem.ends_with(".generated")
        || stem.ends_with(".g")
        || stem.ends_with(".designer")
        || stem.ends_with(".min")
        || stem.ends_with("_generated")
        || has_dir(&["generated", "__generated__", "gen"])
    {
        out.push(PathPrior::Generated);
    }
    if has_dir(&[
        "compat",
        "_compat",
        "legacy",
        "deprecated",
        "polyfills",
        "shims",
    ]) || stem == "compat"
        || stem == "_compat"
    {
        out.push(PathPrior::Compat);
    }
    if name.ends_with(".d.ts") || name.ends_with(".d.mts") || ext == "pyi" {
        out.push(PathPrior::TypeStub);
    }
    let barrel_file = matches!(name, "__init__.py" | "package-info.java");
    let barrel_when_plain = matches!(
        name,
        "mod.rs" | "index.ts" | "index.js" | "index.mjs" | "index.tsx"
    );
    if barrel_file || (barrel_when_plain && !definition) {
        out.push(PathPrior::Barrel);
    }
    out
}

/// The file name without its extension, as written (case kept).
fn original_stem(path: &str) -> Option<&str> {
    let name = path.rsplit('/').next()?;
    Some(name.split('.').next().unwrap_or(name))
}

/// The words a path offers for path evidence: the parts of the file's stem, and of its
/// parent folder's name (`src/flask/sessions.py` → [sessions], [flask]). A file named after
/// a query word is more specific evidence than a folder named after it (`command.rb`, not
/// `command/base.rb`, for "command dispatch"), so the two are kept apart.
pub fn path_words(path: &str) -> PathWords {
    let mut segments = path.rsplit('/');
    let name = segments.next().unwrap_or(path);
    let stem = name.split('.').next().unwrap_or(name);
    let mut words = split_identifier(stem);
    if words.len() > 1 {
        words.push(stem.to_lowercase().replace(['_', '-'], ""));
    }
    let folder = segments
        .next()
        .filter(|parent| !parent.is_empty() && *parent != "." && *parent != "..")
        .map(split_identifier)
        .unwrap_or_default();
    PathWords {
        stem: words,
        folder,
    }
}

/// The words of a file's stem and of its parent folder (see [`path_words`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PathWords {
    pub stem: Vec<String>,
    pub folder: Vec<String>,
}

impl PathWords {
    /// Query keywords the stem matches, and those only the folder matches.
    pub fn matches(&self, keywords: &[String]) -> (usize, usize) {
        let in_stem: Vec<&String> = keywords
            .iter()
            .filter(|k| matching_keywords(std::slice::from_ref(*k), &self.stem) > 0)
            .collect();
        let in_folder = keywords
            .iter()
            .filter(|k| !in_stem.contains(k))
            .filter(|k| matching_keywords(std::slice::from_ref(*k), &self.folder) > 0)
            .count();
        (in_stem.len(), in_folder)
    }
}

/// How many of `keywords` the path's `words` match: equal, one a prefix of the other of at
/// least three letters (`route` and `router`, `session` and `sessions`), or sharing a
/// prefix of five letters or more that covers three quarters of the longer word
/// (`dependency` and `dependencies`).
pub fn matching_keywords(keywords: &[String], words: &[String]) -> usize {
    keywords
        .iter()
        .filter(|k| {
            words.iter().any(|w| {
                let (short, long) = if k.len() <= w.len() {
                    (k.as_str(), w.as_str())
                } else {
                    (w.as_str(), k.as_str())
                };
                short.len() >= 3 && long.starts_with(short)
                    || common_prefix(k, w) >= 5 && common_prefix(k, w) * 4 >= long.len() * 3
                    || starts_with_singular(w, k)
            })
        })
        .count()
}

/// Whether `word` (a path word) starts with a singular form of the plural `keyword`
/// (`cookies` → `cookie`, `classes` → `class`, `proxies` → `proxy`), of four letters or
/// more: enough for a plural keyword to find `cookiejar.py` or `classloader.java`.
fn starts_with_singular(word: &str, keyword: &str) -> bool {
    let mut forms: Vec<String> = Vec::new();
    if let Some(stem) = keyword.strip_suffix('s') {
        forms.push(stem.to_string());
    }
    if let Some(stem) = keyword.strip_suffix("es") {
        forms.push(stem.to_string());
    }
    if let Some(stem) = keyword.strip_suffix("ies") {
        forms.push(format!("{stem}y"));
    }
    forms
        .iter()
        .any(|form| form.len() >= 4 && word.starts_with(form.as_str()))
}

fn common_prefix(a: &str, b: &str) -> usize {
    a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn priors(path: &str) -> Vec<PathPrior> {
        path_priors(path, true)
    }

    #[test]
    fn tests_examples_docs_and_friends_are_recognised() {
        use PathPrior::*;
        assert_eq!(priors("tests/test_parser.py"), [Test]);
        assert_eq!(priors("pkg/parser_test.go"), [Test]);
        assert_eq!(priors("src/test/java/com/x/ParserTest.java"), [Test]);
        assert_eq!(priors("lib/parser.spec.ts"), [Test]);
        assert_eq!(priors("spec/rack/request_spec.rb"), [Test]);
        assert_eq!(priors("examples/hello/main.rs"), [Example]);
        assert_eq!(priors("docs/advanced/middleware.md"), [Doc]);
        assert_eq!(priors("README.md"), [Doc]);
        assert_eq!(priors("benches/search.rs"), [Bench]);
        assert_eq!(priors("third_party/zlib/inflate.c"), [Vendored]);
        assert_eq!(priors("api/v1/service.pb.go"), [Generated]);
        assert_eq!(priors("src/_compat.py"), [Compat]);
        assert_eq!(priors("LICENSE-MIT"), [Doc]);
        assert_eq!(priors("UNLICENSE"), [Doc]);
        assert_eq!(priors("COPYING.LESSER"), [Doc]);
        assert!(priors("src/licenser.rs").is_empty());
        assert!(priors("src/notice.rs").is_empty());
        assert_eq!(priors("pydantic/deprecated/decorator.py"), [Compat]);
        assert_eq!(priors("types/index.d.ts"), [TypeStub]);
        assert_eq!(priors("src/flask/__init__.py"), [Barrel]);
        assert_eq!(path_priors("src/routing/mod.rs", false), [Barrel]);
        assert!(path_priors("src/routing/mod.rs", true).is_empty());
        // Source files whose names merely contain the words are not caught.
        for p in [
            "src/flask/testing_utils_core.py",
            "src/contest.rs",
            "lib/latest.js",
            "src/Testable.java",
            "src/protocol.rs",
            "lib/rack/request.rb",
        ] {
            assert!(priors(p).is_empty(), "{p}: {:?}", priors(p));
        }
    }

    #[test]
    fn a_query_can_ask_for_what_a_prior_lowers() {
        let kw = |s: &str| vec![s.to_string()];
        assert!(PathPrior::Test.asked_for(&kw("tests")));
        assert!(PathPrior::Example.asked_for(&kw("example")));
        assert!(!PathPrior::Test.asked_for(&kw("parser")));
    }

    #[test]
    fn path_words_and_keyword_matches() {
        let all = |p: &str| {
            let w = path_words(p);
            [w.stem, w.folder].concat()
        };
        assert_eq!(all("src/flask/sessions.py"), ["sessions", "flask"]);
        assert_eq!(
            path_words("lib/middleware/bodyParser.js"),
            PathWords {
                stem: vec!["body".into(), "parser".into(), "bodyparser".into()],
                folder: vec!["middleware".into()],
            }
        );
        let words = all("src/flask/sessions.py");
        let kw = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            matching_keywords(&kw(&["session", "management"]), &words),
            1
        );
        assert_eq!(
            matching_keywords(&kw(&["dependency"]), &all("dependencies.py")),
            1
        );
        assert_eq!(matching_keywords(&kw(&["se"]), &words), 0);
        assert_eq!(
            matching_keywords(&kw(&["cookies"]), &all("cookiejar.py")),
            1
        );
        assert_eq!(
            matching_keywords(&kw(&["classes"]), &all("classloader.java")),
            1
        );
        assert_eq!(matching_keywords(&kw(&["proxies"]), &all("proxy.go")), 1);
        assert_eq!(matching_keywords(&kw(&["cookies"]), &all("cookbook.md")), 0);
        assert_eq!(matching_keywords(&kw(&["routing"]), &all("router.go")), 0);
    }

    #[test]
    fn a_file_named_after_a_word_is_told_from_a_folder_named_after_it() {
        let kw = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let words = kw(&["command", "dispatch"]);
        assert_eq!(path_words("rails/command.rb").matches(&words), (1, 0));
        assert_eq!(path_words("rails/command/base.rb").matches(&words), (0, 1));
        // A word the stem matches is not counted again for the folder.
        assert_eq!(path_words("command/command.rb").matches(&words), (1, 0));
    }
}
