//! The GitHub client against the local fake GitHub API (`support::github_server`).

use ferret_engine::profiles::secrets::Secret;
use ferret_engine::remote::github::{validate_full_name, GitHubClient};
use ferret_engine::Error;
use ferret_tests::github_server::{
    free_port_refused_url, FixtureRepo, GitHubFixture, GitHubServer, RATE_LIMIT_RESET_IN_SECS,
};

/// Looks like a real classic token (prefix + 36 characters), so redaction would catch a leak.
const TOKEN: &str = "ghp_Fa4eT0kenF0rTests0123456789abcdefXY";
const WRONG_TOKEN: &str = "ghp_Wr0ngT0kenF0rTests0123456789abcdefXY";

/// Seven repositories (deliberately not in order) served three per page: pages of 3, 3, 1.
fn fixture() -> GitHubFixture {
    let mut private = FixtureRepo::new("octo-org", "secret-sauce");
    private.private = true;
    private.default_branch = "trunk".to_string();
    private.size_kb = 600;
    private.language = None;
    let names = [
        ("octocat", "zeta"),
        ("octocat", "Hello-World"),
        ("octo-org", "api.v2"),
        ("octocat", "alpha_tools"),
        ("another", "repo"),
        ("octocat", "mid"),
    ];
    let mut repos: Vec<FixtureRepo> = names.iter().map(|(o, n)| FixtureRepo::new(o, n)).collect();
    repos.push(private);
    GitHubFixture {
        token: TOKEN.to_string(),
        user: (583231, "octocat".to_string()),
        repos,
        per_page_cap: 3,
    }
}

fn token(value: &str) -> Secret {
    Secret::new(value.to_string()).expect("token")
}

fn client(server: &GitHubServer) -> GitHubClient {
    GitHubClient::new(&server.api_url()).expect("loopback http is allowed")
}

#[test]
fn user_ok() {
    let server = GitHubServer::start(fixture());
    let user = client(&server).user(&token(TOKEN)).expect("user");
    assert_eq!(user.id, 583231);
    assert_eq!(user.login, "octocat");
    assert_eq!(user.name.as_deref(), Some("The octocat"));
    assert_eq!(server.requests(), vec!["GET /user".to_string()]);
}

#[test]
fn repos_follow_every_page_in_order() {
    let server = GitHubServer::start(fixture());
    let repos = client(&server).repos(&token(TOKEN)).expect("repos");
    let names: Vec<&str> = repos.iter().map(|r| r.full_name.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "another/repo",
            "octo-org/api.v2",
            "octo-org/secret-sauce",
            "octocat/alpha_tools",
            "octocat/Hello-World",
            "octocat/mid",
            "octocat/zeta",
        ]
    );
    assert_eq!(
        server.requests(),
        vec![
            "GET /user/repos?per_page=100&sort=full_name".to_string(),
            "GET /user/repos?per_page=100&sort=full_name&page=2".to_string(),
            "GET /user/repos?per_page=100&sort=full_name&page=3".to_string(),
        ],
        "three pages, each fetched once, following the Link header"
    );
    let private = &repos[2];
    assert!(private.private);
    assert_eq!(private.owner, "octo-org");
    assert_eq!(private.name, "secret-sauce");
    assert_eq!(private.default_branch, "trunk");
    assert_eq!(private.size_kb, 600);
    assert_eq!(private.language, None);
    assert_eq!(
        private.clone_url,
        "https://github.com/octo-org/secret-sauce.git"
    );
    assert_eq!(private.html_url, "https://github.com/octo-org/secret-sauce");
    assert_eq!(private.estimate().files, 100);
    assert_eq!(private.estimate().chunks, 400);
}

#[test]
fn repos_with_a_single_page() {
    let mut one_page = fixture();
    one_page.per_page_cap = 100;
    let server = GitHubServer::start(one_page);
    let repos = client(&server).repos(&token(TOKEN)).expect("repos");
    assert_eq!(repos.len(), 7);
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn repo_found_and_not_found() {
    let server = GitHubServer::start(fixture());
    let client = client(&server);
    let repo = client
        .repo(&token(TOKEN), "octocat", "Hello-World")
        .expect("repo");
    assert_eq!(repo.full_name, "octocat/Hello-World");
    assert_eq!(repo.default_branch, "main");
    assert_eq!(repo.language.as_deref(), Some("Rust"));
    assert!(!repo.private);

    let err = client
        .repo(&token(TOKEN), "octocat", "nope")
        .expect_err("404");
    let text = err.to_string();
    assert!(matches!(err, Error::NotFound(_)), "{err:?}");
    assert!(
        text.contains("repository octocat/nope not found, or the token cannot read it"),
        "{text}"
    );
    assert_eq!(
        server.requests(),
        vec![
            "GET /repos/octocat/Hello-World".to_string(),
            "GET /repos/octocat/nope".to_string()
        ]
    );
}

#[test]
fn repo_with_an_invalid_name_is_refused_before_any_request() {
    let server = GitHubServer::start(fixture());
    let err = client(&server)
        .repo(&token(TOKEN), "octocat", "../../user")
        .expect_err("invalid name");
    assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
    assert!(server.requests().is_empty());
}

#[test]
fn wrong_token_is_rejected_with_advice_and_without_the_token() {
    let server = GitHubServer::start(fixture());
    let client = client(&server);
    for result in [
        client.user(&token(WRONG_TOKEN)).map(|_| ()),
        client.repos(&token(WRONG_TOKEN)).map(|_| ()),
        client
            .repo(&token(WRONG_TOKEN), "octocat", "zeta")
            .map(|_| ()),
    ] {
        let err = result.expect_err("401");
        let text = err.to_string();
        let debug = format!("{err:?}");
        assert!(matches!(err, Error::GitHub { .. }), "{debug}");
        assert!(
            text.contains("401") && text.contains("token rejected"),
            "{text}"
        );
        assert!(text.contains("Contents: read and Metadata: read"), "{text}");
        assert!(
            text.contains("/settings/personal-access-tokens/new"),
            "{text}"
        );
        for leaked in [WRONG_TOKEN, TOKEN, "Wr0ngT0ken"] {
            assert!(!text.contains(leaked) && !debug.contains(leaked), "{debug}");
        }
    }
}

#[test]
fn rate_limit_names_the_reset_time() {
    let server = GitHubServer::start(fixture());
    let client = client(&server);
    client.user(&token(TOKEN)).expect("not limited yet");
    server.set_rate_limited(true);
    let err = client.repos(&token(TOKEN)).expect_err("rate limited");
    let text = err.to_string();
    assert!(matches!(err, Error::GitHub { .. }), "{err:?}");
    assert!(text.contains("rate limit"), "{text}");
    assert!(text.contains(" UTC (in "), "{text}");
    // The server announces a reset 30 minutes ahead; allow for a slow test machine.
    let minutes = RATE_LIMIT_RESET_IN_SECS / 60;
    assert!(
        text.contains(&format!("(in {minutes} min)"))
            || text.contains(&format!("(in {} min)", minutes - 1)),
        "{text}"
    );
    let time = text
        .split("resets at ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .expect("a reset time");
    let parts: Vec<u32> = time
        .split(':')
        .map(|p| p.parse().expect("digits"))
        .collect();
    assert!(
        parts.len() == 3 && parts[0] < 24 && parts[1] < 60 && parts[2] < 60,
        "{text}"
    );
    assert!(!text.contains(TOKEN));

    server.set_rate_limited(false);
    assert_eq!(client.repos(&token(TOKEN)).expect("limit lifted").len(), 7);
}

#[test]
fn offline_is_reported_as_unreachable() {
    let url = free_port_refused_url();
    let client = GitHubClient::new(&url).expect("client");
    let err = client.user(&token(TOKEN)).expect_err("nothing listens");
    let text = err.to_string();
    assert!(matches!(err, Error::GitHub { .. }), "{err:?}");
    assert!(text.contains("cannot reach GitHub"), "{text}");
    assert!(text.contains(&url), "{text}");
    assert!(text.contains("--api-url"), "{text}");
    assert!(!text.contains(TOKEN), "{text}");
}

#[test]
fn plain_http_is_refused_except_on_loopback() {
    for url in [
        "http://api.github.com",
        "http://ghe.example.com/api/v3",
        "http://192.168.1.10:8080",
    ] {
        match GitHubClient::new(url) {
            Err(Error::InvalidInput(m)) => assert!(m.contains("HTTPS is required"), "{m}"),
            other => panic!("{url} gave {other:?}"),
        }
    }
    let server = GitHubServer::start(fixture());
    GitHubClient::new(&format!("{}/", server.api_url())).expect("loopback with a slash");
    GitHubClient::new("https://ghe.example.com/api/v3").expect("https enterprise");
}

#[test]
fn enterprise_urls_give_enterprise_advice() {
    let client = GitHubClient::new("https://ghe.example.com/api/v3/").expect("client");
    assert_eq!(client.api_url(), "https://ghe.example.com/api/v3");
    assert_eq!(
        client.token_settings_url(),
        "https://ghe.example.com/settings/personal-access-tokens/new"
    );
}

#[test]
fn full_name_validation() {
    assert_eq!(
        validate_full_name("octocat/Hello-World").expect("valid"),
        ("octocat".to_string(), "Hello-World".to_string())
    );
    validate_full_name("a-b/c.d_e-f").expect("valid");
    for bad in [
        "octocat",
        "octocat/",
        "/Hello-World",
        "-octocat/x",
        "octo_cat/x",
        "octocat/..",
        "octocat/a/b",
        "octocat/hello world",
        "octocat/hello?x=1",
    ] {
        let err = validate_full_name(bad).expect_err(bad);
        assert!(matches!(err, Error::InvalidInput(_)), "{bad}: {err:?}");
        assert!(err.to_string().contains("OWNER/NAME"), "{bad}: {err}");
    }
}
