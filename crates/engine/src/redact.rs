//! Keeps tokens out of logs, panic messages and error text (DESIGN.md section 2).
//!
//! [`redact_tokens`] replaces anything shaped like a GitHub token (`ghp_…`, `gho_…`, `ghu_…`,
//! `ghs_…`, `ghr_…`, `github_pat_…`) and the value of any `Authorization: Bearer|token|Basic`
//! header. [`init_logging`] installs a logger and a panic hook that pass every message through
//! it, so a token that slips into a formatted message still never reaches the terminal or a
//! log file. The scanner is hand-written and allocation-free when there is nothing to hide.

use std::borrow::Cow;
use std::io::Write;

/// Prefixes of GitHub's classic token formats; each is followed by ≥ 20 `[A-Za-z0-9]`.
const CLASSIC_PREFIXES: [&[u8]; 5] = [b"ghp_", b"gho_", b"ghu_", b"ghs_", b"ghr_"];
/// Prefix of fine-grained tokens; followed by ≥ 20 `[A-Za-z0-9_]`.
const FINE_GRAINED_PREFIX: &[u8] = b"github_pat_";
/// Shortest token body we treat as a token (real ones are 36+ characters).
const MIN_TOKEN_BODY: usize = 20;
/// Authorization schemes whose value is hidden.
const AUTH_SCHEMES: [&[u8]; 3] = [b"bearer", b"token", b"basic"];
const MASK: &str = "***";

/// Returns `text` with every GitHub token and `Authorization` header value masked.
///
/// Tokens keep their prefix (`ghp_***`) so a reader can still tell what kind of credential
/// was there; header values become `***` (`Authorization: Bearer ***`). When nothing matches,
/// the input is returned borrowed.
pub fn redact_tokens(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let mut out: Option<String> = None;
    // Start of the input not yet copied to `out`.
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        let found = match bytes[i] {
            b'g' => token_at(bytes, i).map(|(keep, end)| (i + keep, end)),
            b'a' | b'A' => authorization_value_at(bytes, i),
            _ => None,
        };
        match found {
            Some((mask_from, end)) => {
                let buf = out.get_or_insert_with(|| String::with_capacity(text.len()));
                // All match boundaries sit next to ASCII bytes, so these are char boundaries.
                buf.push_str(&text[copied..mask_from]);
                buf.push_str(MASK);
                copied = end;
                i = end;
            }
            None => i += 1,
        }
    }
    match out {
        None => Cow::Borrowed(text),
        Some(mut buf) => {
            buf.push_str(&text[copied..]);
            Cow::Owned(buf)
        }
    }
}

/// A token starting at `i`: (length of the prefix to keep, end of the token).
fn token_at(bytes: &[u8], i: usize) -> Option<(usize, usize)> {
    let rest = &bytes[i..];
    let (prefix_len, allow_underscore) = if rest.starts_with(FINE_GRAINED_PREFIX) {
        (FINE_GRAINED_PREFIX.len(), true)
    } else if CLASSIC_PREFIXES.iter().any(|p| rest.starts_with(p)) {
        (4, false)
    } else {
        return None;
    };
    let body = rest[prefix_len..]
        .iter()
        .take_while(|&&b| b.is_ascii_alphanumeric() || (allow_underscore && b == b'_'))
        .count();
    (body >= MIN_TOKEN_BODY).then_some((prefix_len, i + prefix_len + body))
}

/// An `Authorization` header value starting at `i`: (start of the value, end of the value).
///
/// Accepts the forms seen in HTTP dumps and `Debug` output: `Authorization: Bearer x`,
/// `authorization=token x`, `"authorization": "Basic x"`, any case.
fn authorization_value_at(bytes: &[u8], i: usize) -> Option<(usize, usize)> {
    const NAME: &[u8] = b"authorization";
    let rest = &bytes[i..];
    if rest.len() < NAME.len() || !rest[..NAME.len()].eq_ignore_ascii_case(NAME) {
        return None;
    }
    let mut j = i + NAME.len();
    j = skip(bytes, j, |b| b == b'"' || b == b'\'');
    j = skip(bytes, j, |b| b == b' ' || b == b'\t');
    if !matches!(bytes.get(j), Some(b':' | b'=')) {
        return None;
    }
    j += 1;
    j = skip(bytes, j, |b| {
        b == b' ' || b == b'\t' || b == b'"' || b == b'\''
    });
    let scheme = AUTH_SCHEMES
        .iter()
        .find(|s| bytes.len() >= j + s.len() && bytes[j..j + s.len()].eq_ignore_ascii_case(s))?;
    j += scheme.len();
    let after_scheme = j;
    j = skip(bytes, j, |b| b == b' ' || b == b'\t');
    if j == after_scheme {
        return None; // "Bearerx" is not a scheme followed by a value
    }
    let end = skip(bytes, j, |b| {
        !(b.is_ascii_whitespace() || matches!(b, b'"' | b'\'' | b',' | b';' | b'}' | b')'))
    });
    (end > j).then_some((j, end))
}

fn skip(bytes: &[u8], mut j: usize, pred: impl Fn(u8) -> bool) -> usize {
    while j < bytes.len() && pred(bytes[j]) {
        j += 1;
    }
    j
}

/// Installs the process logger and a redacting panic hook.
///
/// The logger is env_logger reading `RUST_LOG` (falling back to `default_filter`, e.g.
/// `"warn"` or `"ferret=info"`) and writing `[time LEVEL target] message` to stderr, with the
/// message passed through [`redact_tokens`]. Calling it again is harmless: the first logger
/// stays, the panic hook is replaced by an identical one.
pub fn init_logging(default_filter: &str) {
    let env = env_logger::Env::default().default_filter_or(default_filter);
    let _already_installed = env_logger::Builder::from_env(env)
        .format(|buf, record| {
            let message = record.args().to_string();
            writeln!(
                buf,
                "[{} {:<5} {}] {}",
                buf.timestamp_seconds(),
                record.level(),
                record.target(),
                redact_tokens(&message)
            )
        })
        .try_init();
    std::panic::set_hook(Box::new(|info| {
        let thread = std::thread::current();
        let text = panic_report(
            thread.name().unwrap_or("<unnamed>"),
            info.location(),
            panic_message(info.payload()),
        );
        let mut stderr = std::io::stderr().lock();
        let _ignored = stderr.write_all(text.as_bytes());
        let backtrace = std::backtrace::Backtrace::capture();
        if backtrace.status() == std::backtrace::BacktraceStatus::Captured {
            let trace = backtrace.to_string();
            let _ignored = writeln!(stderr, "stack backtrace:\n{}", redact_tokens(&trace));
        } else {
            let _ignored = writeln!(
                stderr,
                "ferret: this is a bug; run again with RUST_BACKTRACE=1 for the details to report"
            );
        }
    }));
}

/// The text of a panic payload (`panic!` gives a `&str` or a `String`).
fn panic_message(payload: &(dyn std::any::Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "Box<dyn Any>"
    }
}

/// What the panic hook prints, shaped like the standard hook's message, redacted.
fn panic_report(
    thread: &str,
    location: Option<&std::panic::Location<'_>>,
    message: &str,
) -> String {
    let location = location
        .map(|l| format!(" at {}:{}:{}", l.file(), l.line(), l.column()))
        .unwrap_or_default();
    format!(
        "ferret: internal error{location} (thread '{thread}'): {}\n",
        redact_tokens(message)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLASSIC: &str = "ghp_1234567890abcdefghijABCDEFGHIJ123456";
    const FINE: &str =
        "github_pat_11AAAAAAA0abcdefghijkl_mnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRS";

    #[test]
    fn classic_tokens_of_every_kind_are_masked() {
        for prefix in ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"] {
            let token = format!("{prefix}AbCdEfGhIjKlMnOpQrSt0123456789xyzw");
            let text = format!("token={token} end");
            assert_eq!(redact_tokens(&text), format!("token={prefix}*** end"));
        }
    }

    #[test]
    fn fine_grained_tokens_are_masked_including_underscores() {
        let text = format!("using {FINE}.");
        assert_eq!(redact_tokens(&text), "using github_pat_***.");
    }

    #[test]
    fn tokens_inside_urls_json_and_at_the_edges() {
        assert_eq!(redact_tokens(CLASSIC), "ghp_***");
        assert_eq!(
            redact_tokens(&format!(
                "https://x-access-token:{CLASSIC}@github.com/o/r.git"
            )),
            "https://x-access-token:ghp_***@github.com/o/r.git"
        );
        assert_eq!(
            redact_tokens(&format!(r#"{{"token":"{CLASSIC}","t2":"{FINE}"}}"#)),
            r#"{"token":"ghp_***","t2":"github_pat_***"}"#
        );
        assert_eq!(
            redact_tokens(&format!("é {CLASSIC}é")),
            "é ghp_***é",
            "multi-byte neighbours stay intact"
        );
    }

    #[test]
    fn authorization_header_values_are_masked() {
        let cases = [
            (
                format!("Authorization: Bearer {CLASSIC}"),
                "Authorization: Bearer ***".to_string(),
            ),
            (
                "authorization: token abc.def-ghi\r\nAccept: */*".to_string(),
                "authorization: token ***\r\nAccept: */*".to_string(),
            ),
            (
                "AUTHORIZATION=Basic dXNlcjpwYXNz== next".to_string(),
                "AUTHORIZATION=Basic *** next".to_string(),
            ),
            (
                r#"headers: {"authorization": "Bearer sekrit", "accept": "json"}"#.to_string(),
                r#"headers: {"authorization": "Bearer ***", "accept": "json"}"#.to_string(),
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(redact_tokens(&input), expected, "input {input:?}");
        }
    }

    #[test]
    fn near_misses_are_left_alone() {
        for text in [
            "ghp_short",
            "ghp_1234567890123456789", // 19 characters: too short
            "ghx_1234567890abcdefghijABCDEFGHIJ",
            "gh_1234567890abcdefghijABCDEFGHIJ",
            "github_pat_short_one",
            "the authorization header was missing",
            "Authorization: Digest abc",
            "Authorization: Bearer",
            "Authorization: Bearerabc",
            "ghp-1234567890abcdefghijABCDEFGHIJ",
        ] {
            assert!(
                matches!(redact_tokens(text), Cow::Borrowed(t) if t == text),
                "{text:?} was changed to {:?}",
                redact_tokens(text)
            );
        }
    }

    #[test]
    fn text_without_tokens_is_borrowed() {
        let text = "indexed 120 files in 3.2 s; github.com/owner/repo at main (gh cli not used)";
        assert!(matches!(redact_tokens(text), Cow::Borrowed(_)));
        assert!(matches!(redact_tokens(""), Cow::Borrowed("")));
    }

    #[test]
    fn several_tokens_in_one_line() {
        let text = format!("a={CLASSIC} b={CLASSIC} Authorization: token {FINE} done");
        assert_eq!(
            redact_tokens(&text),
            "a=ghp_*** b=ghp_*** Authorization: token *** done"
        );
    }

    /// The logger and panic hook are process-wide, so the real thing runs in a child process
    /// (the ignored helper below) and this test reads what reached its stderr.
    #[test]
    fn logger_and_panic_hook_redact_what_reaches_stderr() {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "redact::tests::child_logs_and_panics_with_a_token",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("FERRET_CHILD_LOGGING", "1")
            .env_remove("RUST_LOG")
            .env_remove("RUST_BACKTRACE")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success(),
            "the child is meant to panic:\n{stderr}"
        );
        assert!(!stderr.contains(CLASSIC), "token leaked:\n{stderr}");
        assert!(
            stderr.contains("INFO  ferret_engine::redact::tests] logged in with ghp_***"),
            "{stderr}"
        );
        assert!(!stderr.contains("filtered out by level"), "{stderr}");
        assert!(stderr.contains("ferret: internal error at "), "{stderr}");
        assert!(
            stderr.contains("request failed: Authorization: Bearer ***"),
            "{stderr}"
        );
    }

    #[test]
    #[ignore = "run by logger_and_panic_hook_redact_what_reaches_stderr in a child process"]
    fn child_logs_and_panics_with_a_token() {
        assert_eq!(
            std::env::var("FERRET_CHILD_LOGGING").as_deref(),
            Ok("1"),
            "helper for logger_and_panic_hook_redact_what_reaches_stderr; not meant to run alone"
        );
        init_logging("info");
        log::info!("logged in with {CLASSIC}");
        log::debug!("filtered out by level");
        panic!("request failed: Authorization: Bearer {CLASSIC}");
    }

    #[test]
    fn panic_report_is_one_redacted_line() {
        let location = std::panic::Location::caller();
        let report = panic_report("main", Some(location), &format!("bad token {CLASSIC}"));
        assert!(!report.contains(CLASSIC), "{report}");
        assert!(report.starts_with("ferret: internal error at "), "{report}");
        assert!(
            report.contains(location.file()) && report.contains("thread 'main'"),
            "{report}"
        );
        assert!(report.ends_with("bad token ghp_***\n"), "{report}");
        assert_eq!(report.lines().count(), 1, "{report}");
        let payload: Box<dyn std::any::Any + Send> = Box::new(format!("owned {CLASSIC}"));
        assert_eq!(panic_message(payload.as_ref()), format!("owned {CLASSIC}"));
        let payload: Box<dyn std::any::Any + Send> = Box::new(42_u8);
        assert_eq!(panic_message(payload.as_ref()), "Box<dyn Any>");
    }
}
