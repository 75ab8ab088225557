//! `ferret search` as scripts read it: the JSON object's fields and the "no strong match"
//! flag in JSON and text.

use crate::common::{ferret, fixture, run_ok, DEFAULT_MODEL};

#[test]
fn index_then_search_json_has_the_contract_fields() {
    let data = tempfile::tempdir().unwrap();
    run_ok(ferret(data.path()).args(["repo", "add"]).arg(fixture()));
    let out = run_ok(ferret(data.path()).args(["repo", "list", "--json"]));
    let repos: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(repos[0]["name"], "polyglot");
    run_ok(ferret(data.path()).args(["index", "--threads", "1"]));
    let out = run_ok(ferret(data.path()).args(["search", "parse args", "--json", "--limit", "5"]));
    let found: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        found["no_strong_match"].is_boolean(),
        "the flag is always there: {found}"
    );
    let hits = found["results"].as_array().expect("the hits under results");
    assert!(!hits.is_empty() && hits.len() <= 5);
    for key in [
        "repo",
        "path",
        "start_line",
        "end_line",
        "language",
        "symbol",
        "score",
        "snippet",
    ] {
        assert!(hits[0].get(key).is_some(), "missing {key}: {}", hits[0]);
    }
    assert!(
        !hits[0]["path"].as_str().unwrap().starts_with('/'),
        "paths are repo-relative"
    );
    let out = run_ok(ferret(data.path()).args(["stats", "--json"]));
    let stats: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(stats["files"], 13);
    assert_eq!(stats["chunks"], stats["embedded_chunks"]);
    assert_eq!(stats["model_id"], DEFAULT_MODEL);
    let out = run_ok(ferret(data.path()).args(["search", "great circle distance"]));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("cmd/geo.go"), "{text}");
    assert!(!text.contains("no strong match"), "{text}");
}

/// A question about code the index does not hold says "no strong match" (in the JSON flag
/// and above the text results), and still shows the closest results; one it answers does
/// not.
#[test]
fn search_says_no_strong_match_when_nothing_answers() {
    let data = tempfile::tempdir().unwrap();
    run_ok(ferret(data.path()).args(["repo", "add"]).arg(fixture()));
    let json = |query: &str| -> serde_json::Value {
        let out = run_ok(ferret(data.path()).args(["search", query, "--json", "-n", "5"]));
        serde_json::from_slice(&out.stdout).unwrap()
    };
    for query in [
        "KubernetesOperator",
        "how are kubernetes pods scheduled across nodes",
    ] {
        let found = json(query);
        assert_eq!(found["no_strong_match"], true, "{query}: {found}");
        assert!(
            !found["results"].as_array().unwrap().is_empty(),
            "{query}: the closest results are still there"
        );
    }
    for query in [
        "great circle distance",
        "RateLimiter try_acquire",
        "where is the shopping cart total computed",
    ] {
        let found = json(query);
        assert_eq!(found["no_strong_match"], false, "{query}: {found}");
    }
    let out = run_ok(ferret(data.path()).args(["search", "KubernetesOperator", "--explain"]));
    let text = String::from_utf8_lossy(&out.stdout);
    let flag = text
        .find("no strong match:")
        .expect("said in the text output");
    let first_hit = text.find("polyglot/").expect("the closest results follow");
    assert!(flag < first_hit, "{text}");
    assert!(text.contains("no named symbol is defined"), "{text}");
}
