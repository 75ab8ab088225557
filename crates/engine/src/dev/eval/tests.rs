use super::*;

fn exp(path: &str, start: u32, end: u32) -> Expected {
    Expected {
        path: path.into(),
        start_line: start,
        end_line: end,
    }
}

#[test]
fn overlap_rule() {
    let x = exp("src/dir.rs", 100, 120);
    assert!(hit_matches("src/dir.rs", 100, 120, &x));
    assert!(
        hit_matches("src/dir.rs", 90, 100, &x),
        "touching the first line"
    );
    assert!(
        hit_matches("src/dir.rs", 120, 130, &x),
        "touching the last line"
    );
    assert!(hit_matches("src/dir.rs", 1, 500, &x), "containing");
    assert!(hit_matches("src/dir.rs", 105, 106, &x), "contained");
    assert!(hit_matches("./src/dir.rs", 105, 106, &x), "leading ./");
    assert!(!hit_matches("src/dir.rs", 80, 99, &x), "just before");
    assert!(!hit_matches("src/dir.rs", 121, 140, &x), "just after");
    assert!(!hit_matches("src/walk.rs", 100, 120, &x), "other file");
    assert!(
        !hit_matches("dir.rs", 100, 120, &x),
        "paths are not suffix-matched"
    );
}

#[test]
fn rank_is_first_correct_hit_within_top_k() {
    let expect = vec![exp("a.rs", 10, 20), exp("b.rs", 1, 5)];
    let hits = [
        ("c.rs", 1, 9),
        ("a.rs", 1, 9),
        ("b.rs", 3, 4),
        ("a.rs", 15, 16),
    ];
    assert_eq!(first_correct_rank(hits, &expect), Some(3));
    assert_eq!(first_correct_rank([], &expect), None);
    assert_eq!(first_correct_rank([("a.rs", 20, 30)], &expect), Some(1));
    // The right answer at rank 11 is a miss.
    let mut far: Vec<(&str, u32, u32)> = vec![("z.rs", 1, 2); TOP_K];
    far.push(("a.rs", 10, 20));
    assert_eq!(first_correct_rank(far.iter().copied(), &expect), None);
    far[TOP_K - 1] = ("b.rs", 5, 5);
    assert_eq!(
        first_correct_rank(far.iter().copied(), &expect),
        Some(TOP_K)
    );
}

#[test]
fn recall_and_mrr_arithmetic() {
    let ranks = [Some(1), Some(2), Some(5), Some(10), None];
    let s = score_mode(SearchMode::Hybrid, &ranks, &[3.0, 1.0, 2.0, 10.0]);
    assert_eq!(s.cases, 5);
    assert!((s.recall_at_1 - 0.2).abs() < 1e-12);
    assert!((s.recall_at_5 - 0.6).abs() < 1e-12);
    assert!((s.recall_at_10 - 0.8).abs() < 1e-12);
    let mrr = (1.0 + 0.5 + 0.2 + 0.1 + 0.0) / 5.0;
    assert!((s.mrr - mrr).abs() < 1e-12);
    assert!((s.p50_ms - 2.5).abs() < 1e-12);

    let empty = score_mode(SearchMode::Lexical, &[], &[]);
    assert_eq!(
        (empty.cases, empty.recall_at_10, empty.mrr, empty.p50_ms),
        (0, 0.0, 0.0, 0.0)
    );
    assert_eq!(median(&[5.0, 1.0, 3.0]), 3.0);
}

#[test]
fn parse_cases_skips_comments_and_names_bad_lines() {
    let text = "# header\n\n{\"id\":\"a\",\"repo\":\"r\",\"kind\":\"behaviour\",\"split\":\"dev\",\"query\":\"q\",\"expect\":[{\"path\":\"x.rs\",\"start_line\":1,\"end_line\":2}]}\n";
    let cases = parse_cases(text, "cases.jsonl").unwrap();
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0].expect, vec![exp("x.rs", 1, 2)]);

    let bad = format!("{text}{{\"id\": \"b\", \"repo\": \"r\"\n");
    let err = parse_cases(&bad, "cases.jsonl").unwrap_err().to_string();
    assert!(err.starts_with("cases.jsonl:4:"), "{err}");

    let dup = format!("{text}{}", text.lines().nth(2).unwrap());
    let err = parse_cases(&dup, "f").unwrap_err().to_string();
    assert!(err.contains("duplicate case id a"), "{err}");

    let inverted = "{\"id\":\"a\",\"repo\":\"r\",\"kind\":\"identifier\",\"split\":\"check\",\"query\":\"q\",\"expect\":[{\"path\":\"x\",\"start_line\":5,\"end_line\":2}]}";
    assert!(parse_cases(inverted, "f").is_err());
}

#[test]
fn unanswerable_cases_have_no_expected_location_and_answerable_ones_need_one() {
    let none = "{\"id\":\"u\",\"repo\":\"r\",\"kind\":\"behaviour\",\"split\":\"dev\",\"unanswerable\":true,\"query\":\"q\"}";
    let cases = parse_cases(none, "f").unwrap();
    assert!(cases[0].unanswerable && cases[0].expect.is_empty());
    let both = none.replace(
        "\"query\"",
        "\"expect\":[{\"path\":\"x\",\"start_line\":1,\"end_line\":2}],\"query\"",
    );
    let err = parse_cases(&both, "f").unwrap_err().to_string();
    assert!(
        err.contains("unanswerable but lists expected locations"),
        "{err}"
    );
    let neither = none.replace("\"unanswerable\":true,", "");
    let err = parse_cases(&neither, "f").unwrap_err().to_string();
    assert!(err.contains("no expected location"), "{err}");
}

fn flagged_case(
    id: &str,
    split: Split,
    kind: QueryKind,
    unanswerable: bool,
    flag: Option<bool>,
) -> CaseResult {
    CaseResult {
        id: id.into(),
        repo: "r".into(),
        kind: CaseKind::Behaviour,
        mode: SearchMode::Hybrid,
        rank: (!unanswerable).then_some(1),
        top_hit: None,
        split: Some(split),
        unanswerable,
        query_kind: Some(kind),
        no_strong_match: flag,
        evidence: None,
    }
}

/// The flag's rates per split and kind, and recall and MRR over the answerable cases only.
#[test]
fn flag_rates_per_split_and_kind_and_recall_without_the_unanswerable() {
    use QueryKind::{Natural, Symbol};
    let cases = vec![
        flagged_case("u1", Split::Dev, Symbol, true, Some(true)),
        flagged_case("u2", Split::Dev, Natural, true, Some(false)),
        flagged_case("u3", Split::Check, Natural, true, Some(true)),
        flagged_case("a1", Split::Dev, Natural, false, Some(true)),
        flagged_case("a2", Split::Dev, Natural, false, Some(false)),
        flagged_case("a3", Split::Check, Symbol, false, Some(false)),
        // Not searched (its repository is not indexed): in neither count.
        flagged_case("a4", Split::Check, Symbol, false, None),
    ];
    let report = summarise(&[SearchMode::Hybrid], cases, &[]);
    let hybrid = &report.modes[0];
    assert_eq!(hybrid.cases, 4, "the unanswerable cases are not scored");
    assert!((hybrid.recall_at_10 - 1.0).abs() < 1e-12);
    let flags = |split: &str, kind: &str| {
        report
            .flags
            .iter()
            .find(|f| f.split == split && f.query_kind == kind)
            .cloned()
            .unwrap_or_else(|| panic!("no {split} {kind} in {:?}", report.flags))
    };
    let all = flags("all", "all");
    assert_eq!(
        (
            all.unanswerable_flagged,
            all.unanswerable,
            all.answerable_flagged,
            all.answerable
        ),
        (2, 3, 1, 3)
    );
    assert!((all.unanswerable_rate() - 2.0 / 3.0).abs() < 1e-12);
    assert!((all.answerable_rate() - 1.0 / 3.0).abs() < 1e-12);
    let dev_natural = flags("dev", "natural");
    assert_eq!(
        (
            dev_natural.unanswerable_flagged,
            dev_natural.unanswerable,
            dev_natural.answerable_flagged,
            dev_natural.answerable
        ),
        (0, 1, 1, 2)
    );
    let check_symbol = flags("check", "symbol");
    assert_eq!((check_symbol.answerable, check_symbol.unanswerable), (1, 0));
    assert_eq!(
        check_symbol.unanswerable_rate(),
        0.0,
        "no cases: 0, not NaN"
    );
    assert!(
        !report.flags.iter().any(|f| f.query_kind == "mixed"),
        "groups without cases are left out"
    );

    // One split only: no `all` rows repeating it.
    let dev_only = vec![flagged_case("u1", Split::Dev, Symbol, true, Some(true))];
    let report = summarise(&[SearchMode::Hybrid], dev_only, &[]);
    assert!(report.flags.iter().all(|f| f.split == "dev"));
}

/// The shipped eval set parses, and every expected range lies inside its file.
#[test]
fn shipped_cases_are_well_formed() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/eval/cases.jsonl");
    let all = load_cases(&file).unwrap();
    // At least 40 unanswerable questions for the "no strong match" flag, split between the
    // halves, over every repository.
    let unanswerable: Vec<&EvalCase> = all.iter().filter(|c| c.unanswerable).collect();
    assert!(
        unanswerable.len() >= 40,
        "{} unanswerable",
        unanswerable.len()
    );
    for split in [Split::Dev, Split::Check] {
        let n = unanswerable.iter().filter(|c| c.split == split).count();
        assert!(
            n * 5 >= unanswerable.len() * 2,
            "{n} unanswerable in {split:?}"
        );
    }
    let cases: Vec<EvalCase> = all.iter().filter(|c| !c.unanswerable).cloned().collect();
    // The shape the relevance work promises: 200+ cases over 6+ repositories, a third
    // conceptual, a third behaviour, both halves populated for every kind.
    assert!(cases.len() >= 200, "{} cases", cases.len());
    let repos: HashSet<&str> = cases.iter().map(|c| c.repo.as_str()).collect();
    assert!(repos.len() >= 6, "{repos:?}");
    for repo in &repos {
        assert!(
            unanswerable.iter().any(|c| c.repo == *repo),
            "no unanswerable question about {repo}"
        );
    }
    for kind in [CaseKind::Conceptual, CaseKind::Behaviour] {
        let n = cases.iter().filter(|c| c.kind == kind).count();
        assert!(n * 3 >= cases.len(), "{n} {kind:?} cases");
    }
    for kind in [
        CaseKind::Behaviour,
        CaseKind::Conceptual,
        CaseKind::Identifier,
    ] {
        for split in [Split::Dev, Split::Check] {
            let n = cases
                .iter()
                .filter(|c| c.kind == kind && c.split == split)
                .count();
            assert!(n >= 15, "{n} {kind:?} cases in {split:?}");
        }
    }
    for (name, dir) in locate_repos(&file) {
        let Some(dir) = dir else { continue };
        for case in cases.iter().filter(|c| c.repo == name) {
            for x in &case.expect {
                let text = std::fs::read_to_string(dir.join(&x.path))
                    .unwrap_or_else(|e| panic!("{}: {}: {e}", case.id, x.path));
                let lines = text.lines().count() as u32;
                assert!(
                    x.end_line <= lines,
                    "{}: {} has {lines} lines",
                    case.id,
                    x.path
                );
            }
        }
    }
}
