use super::*;

fn cand<'a>(path: &'a str, symbol: Option<&'a str>, score: f64) -> Candidate<'a> {
    Candidate {
        repo: "r",
        path,
        symbol,
        kind: if symbol.is_some() { "class" } else { "lines" },
        score,
        header_of_source: false,
        bytes: 1_000,
    }
}

/// The stage's full answer for `query` (no `path:` filter unless `path_filtered`).
fn rank(
    query: &str,
    path_filtered: bool,
    w: &Weights,
    candidates: &[Candidate<'_>],
) -> Vec<Ranked> {
    let shape = query_shape(query);
    let q = RankQuery {
        shape: &shape,
        path_filtered,
    };
    rerank(&q, candidates, w)
}

fn order_by(
    query: &str,
    path_filtered: bool,
    w: &Weights,
    candidates: &[Candidate<'_>],
) -> Vec<usize> {
    rank(query, path_filtered, w, candidates)
        .into_iter()
        .map(|r| r.candidate)
        .collect()
}

fn order(query: &str, candidates: &[Candidate<'_>]) -> Vec<usize> {
    order_by(query, false, &Weights::default(), candidates)
}

fn order_with(query: &str, path_filtered: bool, candidates: &[Candidate<'_>]) -> Vec<usize> {
    order_by(query, path_filtered, &Weights::default(), candidates)
}

#[test]
fn a_test_file_loses_to_its_source_file_for_a_plain_question() {
    let candidates = [
        cand("tests/test_sessions.py", Some("test_session_expiry"), 0.9),
        cand(
            "src/flask/sessions.py",
            Some("SecureCookieSessionInterface"),
            0.7,
        ),
    ];
    assert_eq!(order("how do sessions expire", &candidates)[0], 1);
}

#[test]
fn test_parser_still_finds_tests() {
    let candidates = [
        cand("tests/test_parser.py", Some("test_parse_nested"), 0.9),
        cand("src/parser.py", Some("Parser"), 0.7),
    ];
    assert_eq!(order("test parser nested", &candidates)[0], 0);
    // A path: filter already chose the files: priors stay out of the way.
    assert_eq!(order_with("parse nested", true, &candidates)[0], 0);
}

#[test]
fn a_definition_beats_a_use() {
    let candidates = [
        cand("src/requests/sessions.py", Some("Session.send"), 0.95),
        cand("src/requests/api.py", Some("request"), 0.9),
        cand("src/requests/adapters.py", Some("HTTPAdapter"), 0.4),
    ];
    assert_eq!(order("HTTPAdapter", &candidates)[0], 2);
    // Inside a question the name still counts.
    assert_eq!(order("how does HTTPAdapter send", &candidates)[0], 2);
    // A word that only looks like a name in a plain question does not.
    assert_eq!(order("how is a request sent", &candidates)[0], 0);
}

#[test]
fn qualified_names_match_qualified_symbols() {
    let names = vec!["Base".to_string(), "Sinatra.Base".to_string()];
    let path = "lib/sinatra/base.rb";
    assert_eq!(defines("Sinatra::Base", path, &names), Some("Base"));
    assert_eq!(defines("Base", path, &names), Some("Base"));
    assert_eq!(defines("Sinatra::Base.call", path, &names), None);
    assert_eq!(defines("BaseHelper", path, &names), None);
    let qualified = vec!["Sinatra.Base".to_string()];
    assert_eq!(
        defines("Sinatra::Base", path, &qualified),
        Some("Sinatra.Base")
    );
    assert_eq!(defines("Other::Base", path, &qualified), None);
    // Generic parameters are not part of the name.
    let glob = vec!["Glob".to_string(), "Glob.new".to_string()];
    assert_eq!(defines("Glob<'a>", "src/glob.rs", &glob), Some("Glob"));
    assert_eq!(
        defines("Glob<'a>::new", "src/glob.rs", &glob[1..]),
        Some("Glob.new")
    );
}

#[test]
fn a_qualified_name_in_a_question_asks_for_that_member_only() {
    let shape = query_shape("WebSocketSubject.error must be called with an error code");
    assert_eq!(shape.kind, QueryKind::Mixed);
    // `error` alone is a word: every `error` method would count as its definition.
    assert_eq!(shape.names, ["WebSocketSubject.error"]);
    let path = "src/dom/WebSocketSubject.ts";
    assert_eq!(
        defines("WebSocketSubject.error", path, &shape.names),
        Some("WebSocketSubject.error")
    );
    assert_eq!(
        defines("Subject.error", "src/Subject.ts", &shape.names),
        None
    );
    // A member recorded without its container, in the container's file, still counts.
    assert_eq!(
        defines("error", path, &shape.names),
        Some("WebSocketSubject.error")
    );
    assert_eq!(defines("error", "src/Subscriber.ts", &shape.names), None);
    // A last part that is an identifier by itself stays a name.
    let shape = query_shape("how does http.HandlerFunc adapt a function");
    assert_eq!(shape.names, ["HandlerFunc", "http.HandlerFunc"]);

    let candidates = [
        cand("src/Subject.ts", Some("Subject.error"), 0.9),
        cand(path, Some("WebSocketSubject.error"), 0.5),
    ];
    assert_eq!(
        order(
            "WebSocketSubject.error must be called with an error code",
            &candidates
        )[0],
        1
    );
}

#[test]
fn query_words_that_name_the_file_lift_it() {
    let candidates = [
        cand("src/flask/app.py", Some("Flask.handle"), 0.8),
        cand("src/flask/sessions.py", Some("SessionInterface"), 0.6),
    ];
    assert_eq!(order("session management", &candidates)[0], 1);
}

#[test]
fn ten_results_are_not_one_file() {
    let mut candidates: Vec<Candidate<'_>> = (0..6)
        .map(|i| cand("src/big.rs", None, 1.0 - i as f64 * 0.01))
        .collect();
    candidates.push(cand("src/other.rs", None, 0.6));
    let w = Weights {
        diversity: 0.3,
        ..Weights::default()
    };
    let o = order_by("some question here", false, &w, &candidates);
    let other = o.iter().position(|&c| c == 6).unwrap();
    assert!(other <= 1, "{o:?}");
}

#[test]
fn a_file_with_several_strong_chunks_lifts_its_best() {
    let candidates = [
        cand("src/a.rs", Some("one"), 0.80),
        cand("src/b.rs", Some("two"), 0.82),
        cand("src/a.rs", Some("three"), 0.79),
        cand("src/a.rs", Some("four"), 0.78),
    ];
    let w = Weights {
        diversity: 1.0,
        coherence: 0.3,
        ..Weights::default()
    };
    let ranked = rank("some question", false, &w, &candidates);
    assert_eq!(ranked[0].candidate, 0);
    assert!(ranked[0].signals.iter().any(|s| s.signal == "coherence"));
}

#[test]
fn signals_explain_every_move() {
    let candidates = [
        cand("tests/test_adapters.py", Some("HTTPAdapterTest"), 0.9),
        cand("src/requests/adapters.py", Some("HTTPAdapter"), 0.4),
    ];
    let ranked = rank("HTTPAdapter", false, &Weights::default(), &candidates);
    let first = &ranked[0];
    assert_eq!(first.candidate, 1);
    let def = first
        .signals
        .iter()
        .find(|s| s.signal == "definition")
        .expect("definition signal");
    assert!(def.detail.contains("HTTPAdapter") && def.change > 0.0);
    let test = ranked.iter().find(|r| r.candidate == 0).unwrap();
    assert!(test
        .signals
        .iter()
        .any(|s| s.signal == "prior" && s.detail == "test file" && s.change < 0.0));
}

#[test]
fn weights_can_be_overridden_for_tuning() {
    let mut w = Weights::default();
    w.apply("definition=2.5, diversity=0.7,lookups=3,bogus=1,path=x");
    assert_eq!(w.definition, 2.5);
    assert_eq!(w.diversity, 0.7);
    assert_eq!(w.lookups, 3);
    assert_eq!(w.path, Weights::default().path);
}

#[test]
fn a_file_named_after_the_symbol_is_its_own_name_not_its_folder() {
    assert!(file_named_after("lib/rails/application.rb", "Application"));
    assert!(!file_named_after(
        "lib/rails/application/configuration.rb",
        "Application"
    ));
    assert!(file_named_after("src/http_adapter.py", "HTTPAdapter"));
    assert!(file_named_after("src/state.ts", "StateManager"));
    assert!(file_named_after("src/routers.go", "Router"));
    assert!(!file_named_after("src/adapters.py", "HTTPAdapter"));
}

#[test]
fn a_capitalised_name_asks_for_the_type_not_a_method_of_that_name() {
    let mut method = cand("binding/default_validator.go", Some("Engine"), 0.9);
    method.kind = "method";
    let mut ty = cand("gin.go", Some("Engine"), 0.6);
    ty.kind = "type";
    assert_eq!(order("Engine", &[method, ty]), [1, 0]);
}

#[test]
fn a_header_loses_to_the_source_beside_it_unless_asked_for() {
    let header = Candidate {
        header_of_source: true,
        ..cand("lib/transfer.h", None, 1.0)
    };
    let candidates = [header, cand("lib/transfer.c", None, 0.8)];
    assert_eq!(
        order("how data is sent during a transfer", &candidates)[0],
        1
    );
    assert_eq!(order("where is the transfer header", &candidates)[0], 0);
    // A header-only library's header has no source beside it: it is the code.
    let alone = [
        cand("include/fmt/format.h", None, 1.0),
        cand("src/os.cc", None, 0.8),
    ];
    assert_eq!(order("how are floats formatted", &alone)[0], 0);
}

#[test]
fn a_chunk_too_short_to_mean_anything_loses_unless_it_defines_the_name_asked_for() {
    let w = Weights {
        thin_prior: 0.5,
        thin_bytes: 64,
        ..Weights::default()
    };
    let import = Candidate {
        bytes: 30,
        ..cand("src/console.py", None, 1.0)
    };
    let candidates = [import, cand("src/termui.py", None, 0.8)];
    assert_eq!(
        order_by("how the terminal width is read", false, &w, &candidates)[0],
        1
    );
    let ranked = rank("how the terminal width is read", false, &w, &candidates);
    let thin = ranked.iter().find(|r| r.candidate == 0).unwrap();
    assert!(thin.signals.iter().any(|s| s.signal == "thin"), "{thin:?}");

    // A one-line constant asked for by name is the answer, however short.
    let constant = Candidate {
        bytes: 20,
        kind: "constant",
        ..cand("src/limits.py", Some("MAX_WIDTH"), 1.0)
    };
    let candidates = [constant, cand("src/termui.py", None, 0.8)];
    assert_eq!(order_by("MAX_WIDTH", false, &w, &candidates)[0], 0);
}

#[test]
fn a_namespace_opened_in_many_files_is_defined_by_none_of_them() {
    let w = Weights::default();
    let namespace = |path| Candidate {
        kind: "module",
        bytes: 30,
        ..cand(path, Some("Newtonsoft.Json"), 0.5)
    };
    let candidates = [
        namespace("DateParseHandling.cs"),
        namespace("FloatParseHandling.cs"),
        cand("Utilities/DateTimeUtils.cs", Some("DateTimeUtils"), 0.9),
    ];
    let ranked = rank(
        "date handling and ISO 8601 parsing in Newtonsoft.Json",
        false,
        &w,
        &candidates,
    );
    assert_eq!(ranked[0].candidate, 2, "{ranked:?}");
    assert!(ranked
        .iter()
        .all(|r| r.signals.iter().all(|s| s.signal != "definition")));

    // A module defined in one file is that module's definition.
    let candidates = [
        Candidate {
            kind: "module",
            ..cand("lib/sinatra/base.rb", Some("Sinatra"), 0.5)
        },
        cand("lib/sinatra/main.rb", None, 0.9),
    ];
    assert_eq!(order_by("Sinatra", false, &w, &candidates)[0], 0);
}
