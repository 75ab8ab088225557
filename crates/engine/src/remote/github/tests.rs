use super::*;

#[test]
fn link_header_as_github_sends_it() {
    let h = "<https://api.github.com/user/repos?per_page=100&sort=full_name&page=2>; \
             rel=\"next\", <https://api.github.com/user/repos?per_page=100&sort=full_name\
             &page=5>; rel=\"last\"";
    assert_eq!(
        next_link(h).as_deref(),
        Some("https://api.github.com/user/repos?per_page=100&sort=full_name&page=2")
    );
    let links = parse_link_header(h);
    assert_eq!(links.len(), 2);
    assert_eq!(links[1].1, vec!["last".to_string()]);
}

#[test]
fn link_header_last_page_has_no_next() {
    let h = "<https://api.github.com/user/repos?page=4>; rel=\"prev\", \
             <https://api.github.com/user/repos?page=1>; rel=\"first\"";
    assert_eq!(next_link(h), None);
    assert_eq!(next_link(""), None);
}

#[test]
fn link_header_odd_but_valid_forms() {
    // Unquoted rel, several rels, extra params with quoted commas, any order.
    assert_eq!(
        next_link("<https://h/a?page=1>; rel=prev, <https://h/a?page=3>;rel=next").as_deref(),
        Some("https://h/a?page=3")
    );
    assert_eq!(
        next_link("<https://h/x>; title=\"a, b; c\"; rel=\"last next\"").as_deref(),
        Some("https://h/x")
    );
    assert_eq!(
        next_link("garbage, <https://h/y>; rel=\"NEXT\"").as_deref(),
        Some("https://h/y")
    );
    assert_eq!(next_link("<https://h/unterminated; rel=\"next\""), None);
}

#[test]
fn api_urls_are_normalised_and_https_is_required() {
    let c = GitHubClient::new("https://api.github.com/").unwrap();
    assert_eq!(c.api_url(), DEFAULT_API_URL);
    assert_eq!(c.web_url(), "https://github.com");
    let c = GitHubClient::new("https://ghe.example.com/api/v3/").unwrap();
    assert_eq!(c.api_url(), "https://ghe.example.com/api/v3");
    assert_eq!(
        c.token_settings_url(),
        "https://ghe.example.com/settings/personal-access-tokens/new"
    );
    let c = GitHubClient::new("https://ghe.example.com:8443/api/v3").unwrap();
    assert_eq!(c.web_url(), "https://ghe.example.com:8443");
    for ok in [
        "http://127.0.0.1:8080",
        "http://127.1.2.3",
        "http://localhost:3000/api/v3",
        "http://[::1]:9000",
    ] {
        GitHubClient::new(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
    }
    for bad in [
        "http://api.github.com",
        "http://10.0.0.1",
        "http://localhost.evil.com",
        "ftp://api.github.com",
        "api.github.com",
        "https://user:pw@ghe.example.com/api/v3",
        "https://api.github.com/?x=1",
        "",
    ] {
        match GitHubClient::new(bad) {
            Err(Error::InvalidInput(m)) => assert!(m.contains("GitHub API URL"), "{m}"),
            other => panic!("{bad:?} gave {other:?}"),
        }
    }
    let err = GitHubClient::new("http://api.github.com").unwrap_err();
    assert!(err.to_string().contains("HTTPS is required"), "{err}");
}

#[test]
fn next_links_must_stay_on_the_api_origin() {
    let c = GitHubClient::new("https://ghe.example.com/api/v3").unwrap();
    c.check_same_origin("https://ghe.example.com/api/v3/user/repos?page=2")
        .unwrap();
    c.check_same_origin("https://GHE.example.com/api/v3/user/repos?page=2")
        .unwrap();
    for bad in [
        "https://evil.example.com/api/v3/user/repos?page=2",
        "http://ghe.example.com/api/v3/user/repos?page=2",
        "https://ghe.example.com:8443/api/v3/user/repos?page=2",
        "/user/repos?page=2",
    ] {
        let err = c.check_same_origin(bad).unwrap_err();
        assert!(err.to_string().contains("refusing"), "{bad}: {err}");
    }
}

#[test]
fn full_names() {
    assert_eq!(
        validate_full_name("rust-lang/rust").unwrap(),
        ("rust-lang".to_string(), "rust".to_string())
    );
    validate_full_name("a/b.c_d-e").unwrap();
    validate_full_name(&format!("{}/{}", "o".repeat(39), "n".repeat(100))).unwrap();
    for bad in [
        "",
        "rust",
        "/rust",
        "rust/",
        "-bad/x",
        "a_b/x",
        "a/b/c",
        "a/.",
        "a/..",
        "a/b c",
        "a/b%2F",
        &format!("{}/x", "o".repeat(40)),
        &format!("o/{}", "n".repeat(101)),
    ] {
        match validate_full_name(bad) {
            Err(Error::InvalidInput(m)) => assert!(m.contains("OWNER/NAME"), "{m}"),
            other => panic!("{bad:?} gave {other:?}"),
        }
    }
}

#[test]
fn repo_json_from_github_and_from_ourselves() {
    let github = r#"{"id":1,"name":"hello","full_name":"octo/hello","private":true,
        "owner":{"login":"octo","id":2,"type":"User"},"html_url":"https://github.com/octo/hello",
        "clone_url":"https://github.com/octo/hello.git","default_branch":"main","size":120,
        "language":null,"pushed_at":"2024-01-02T03:04:05Z","forks":3}"#;
    let repo: GitHubRepo = parse_json(github, "/repos/octo/hello").unwrap();
    assert_eq!(repo.owner, "octo");
    assert_eq!(repo.size_kb, 120);
    assert!(repo.private);
    assert_eq!(repo.language, None);
    let ours = serde_json::to_string(&repo).unwrap();
    assert!(ours.contains("\"size_kb\":120") && ours.contains("\"owner\":\"octo\""));
    let back: GitHubRepo = serde_json::from_str(&ours).unwrap();
    assert_eq!(back, repo);
    assert_eq!(
        repo.estimate(),
        RepoEstimate {
            files: 20,
            chunks: 80
        }
    );
    let empty = GitHubRepo { size_kb: 0, ..repo };
    assert_eq!(
        empty.estimate(),
        RepoEstimate {
            files: 0,
            chunks: 0
        }
    );
}

#[test]
fn malformed_json_names_the_endpoint() {
    let err = parse_json::<GitHubUser>("<html>proxy login</html>", "/user").unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::GitHub { .. }));
    assert!(text.contains("/user") && text.contains("JSON"), "{text}");
}

#[test]
fn rate_limit_message_gives_reset_time_and_wait() {
    // 1_700_000_000 is 22:13:20 UTC.
    let text = rate_limit_message(Some(1_700_000_000), 1_700_000_000 - 1500);
    assert_eq!(
        text,
        "GitHub API rate limit reached; it resets at 22:13:20 UTC (in 25 min)"
    );
    assert!(rate_limit_message(None, 0).contains("rate limit"));
}

/// The token travels with every clone and fetch, so only URLs on the profile's own GitHub
/// are used: github.com for the public API, the Enterprise host itself, and (for local
/// test servers) any port of a loopback address when the API is on loopback too.
#[test]
fn clone_urls_must_be_on_the_profiles_github() {
    let public = GitHubClient::new(DEFAULT_API_URL).unwrap();
    public
        .check_clone_url("https://github.com/acme/alpha.git")
        .unwrap();
    public
        .check_clone_url("https://GitHub.com/acme/alpha.git")
        .unwrap();
    let enterprise = GitHubClient::new("https://ghe.example.com/api/v3").unwrap();
    enterprise
        .check_clone_url("https://ghe.example.com/acme/alpha.git")
        .unwrap();
    let local = GitHubClient::new("http://127.0.0.1:8123").unwrap();
    local
        .check_clone_url("http://127.0.0.1:9000/acme/alpha.git")
        .unwrap();
    for (client, url) in [
        (&public, "https://evil.example/acme/alpha.git"),
        (&public, "https://github.com.evil.example/acme/alpha.git"),
        (&public, "http://github.com/acme/alpha.git"),
        (&public, "file:///home/me/acme/alpha"),
        (&public, "http://127.0.0.1:9000/acme/alpha.git"),
        (&enterprise, "https://github.com/acme/alpha.git"),
        (&enterprise, "https://ghe.example.com:8443/acme/alpha.git"),
        (&local, "https://evil.example/acme/alpha.git"),
    ] {
        assert!(
            client.check_clone_url(url).is_err(),
            "{url} accepted for {}",
            client.api_url()
        );
    }
}
