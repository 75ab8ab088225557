//! The GitHub token of each profile, kept only in the OS keychain (DESIGN.md section 2).
//!
//! One keychain entry per profile: service [`KEYRING_SERVICE`], user = the profile id. On
//! Linux this is the Secret Service (gnome-keyring, KWallet) reached over the D-Bus session
//! bus. The token travels through the engine as a [`Secret`], which never prints its value and
//! wipes its memory when dropped. No message produced here ever contains the token.

use std::fmt;

use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::profiles::validate_profile_id;

/// The keychain service name under which every profile's token is stored.
pub const KEYRING_SERVICE: &str = "ferret";

/// A token (or any credential) held in memory that is wiped on drop and never printed.
///
/// `Debug` and `Display` show `Secret(***)`; there is deliberately no `Serialize`, so a secret
/// cannot end up in JSON, SQLite or a log by accident. Call [`Secret::expose`] at the one place
/// that must send it (an HTTP header, the keychain).
#[derive(Clone)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wraps a token, trimming surrounding whitespace (a pasted token often ends in a
    /// newline). An empty or all-whitespace token is refused.
    pub fn new(value: String) -> Result<Self> {
        let value = Zeroizing::new(value);
        let trimmed = value.trim();
        if trimmed.is_empty() {
            return Err(Error::InvalidInput(
                "empty token: paste a GitHub personal access token (a fine-grained read-only \
                 token with Contents: read and Metadata: read is enough)"
                    .to_string(),
            ));
        }
        if trimmed.len() == value.len() {
            return Ok(Secret(value));
        }
        // `value` (untrimmed) is zeroed when it drops at the end of this function.
        Ok(Secret(Zeroizing::new(trimmed.to_string())))
    }

    /// The token itself. Use it only to hand it to the keychain or an `Authorization` header.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Stores (or replaces) the GitHub token of `profile_id` in the OS keychain.
pub fn store_token(profile_id: &str, token: &Secret) -> Result<()> {
    let entry = entry(profile_id)?;
    entry
        .set_password(token.expose())
        .map_err(|e| keychain_error("store the GitHub token of", profile_id, &e))
}

/// The GitHub token of `profile_id`, or `None` when the keychain has no entry for it.
pub fn load_token(profile_id: &str) -> Result<Option<Secret>> {
    let entry = entry(profile_id)?;
    match entry.get_password() {
        Ok(value) => {
            let value = Zeroizing::new(value);
            match Secret::new(value.to_string()) {
                Ok(secret) => Ok(Some(secret)),
                // An entry holding only whitespace is as good as no token at all.
                Err(_) => Ok(None),
            }
        }
        Err(keyring::Error::NoEntry) => Ok(None),
        Err(e) => Err(keychain_error("read the GitHub token of", profile_id, &e)),
    }
}

/// Removes the GitHub token of `profile_id`; returns whether an entry existed.
pub fn delete_token(profile_id: &str) -> Result<bool> {
    let entry = entry(profile_id)?;
    match entry.delete_credential() {
        Ok(()) => Ok(true),
        Err(keyring::Error::NoEntry) => Ok(false),
        Err(e) => Err(keychain_error("delete the GitHub token of", profile_id, &e)),
    }
}

/// The keychain entry of one profile (the id is checked first: it names the entry).
fn entry(profile_id: &str) -> Result<keyring::Entry> {
    validate_profile_id(profile_id)?;
    ensure_real_backend()?;
    keyring::Entry::new(KEYRING_SERVICE, profile_id)
        .map_err(|e| keychain_error("open the keychain entry of", profile_id, &e))
}

/// keyring falls back to an in-memory mock store on platforms whose native backend feature is
/// not enabled; a token "stored" there would vanish at exit, so refuse instead.
#[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "openbsd"))]
fn ensure_real_backend() -> Result<()> {
    Ok(())
}

#[cfg(not(any(target_os = "linux", target_os = "freebsd", target_os = "openbsd")))]
fn ensure_real_backend() -> Result<()> {
    Err(Error::Keychain(
        "this build of Ferret has no keychain backend for this operating system (the keyring \
         crate's native feature for it is not enabled), so the token cannot be stored safely"
            .to_string(),
    ))
}

/// Turns a keyring error into a message that says what to do. keyring's `Display` never
/// includes the secret (only `BadEncoding`'s `Debug` would), and we only use `Display`.
fn keychain_error(action: &str, profile_id: &str, err: &keyring::Error) -> Error {
    let cause = err.to_string();
    let what = format!("cannot {action} profile {profile_id:?}");
    let message = match err {
        keyring::Error::NoStorageAccess(_) => {
            let lower = cause.to_ascii_lowercase();
            if lower.contains("prompt") {
                format!(
                    "{what}: the keychain asked to be unlocked and the prompt was dismissed; \
                     unlock your login keyring and try again ({cause})"
                )
            } else {
                format!(
                    "{what}: the keychain collection is locked; unlock your login keyring \
                     (log in to the desktop session, or in a headless shell run \
                     `echo -n PASSWORD | gnome-keyring-daemon --unlock`) and try again ({cause})"
                )
            }
        }
        keyring::Error::PlatformFailure(_) if is_no_secret_service(&cause) => format!(
            "{what}: no Secret Service is running (is gnome-keyring or KWallet started? in a \
             headless shell run inside `dbus-run-session` with gnome-keyring-daemon --unlock) \
             ({cause})"
        ),
        keyring::Error::PlatformFailure(_) => format!(
            "{what}: the keychain failed ({cause}); check that gnome-keyring or KWallet is \
             running and unlocked, then try again"
        ),
        keyring::Error::BadEncoding(_) => {
            format!("{what}: the stored token is not valid UTF-8; sign in again to replace it")
        }
        keyring::Error::Ambiguous(items) => format!(
            "{what}: the keychain holds {} entries for service {KEYRING_SERVICE:?} and this \
             profile; remove the duplicates (e.g. with seahorse) and sign in again",
            items.len()
        ),
        _ => format!("{what}: {cause}"),
    };
    Error::Keychain(message)
}

/// Whether a Secret Service failure means there is no session bus or no provider on it.
fn is_no_secret_service(cause: &str) -> bool {
    let lower = cause.to_ascii_lowercase();
    [
        "autolaunch",
        "dbus_session_bus_address",
        "no dbus session",
        "serviceunknown",
        "service_unknown",
        "not provided by any .service files",
        "failed to connect to socket",
        "no such file or directory",
        "connection refused",
    ]
    .iter()
    .any(|needle| lower.contains(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "ghp_R3alLook1ngT0kenV4lue0123456789abcd";

    /// The keychain tests need a Secret Service on a session bus. Without one they fail
    /// loudly, unless the caller explicitly opts out with FERRET_SKIP_KEYCHAIN_TESTS=1.
    fn keychain_available() -> bool {
        if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some() {
            return true;
        }
        if std::env::var("FERRET_SKIP_KEYCHAIN_TESTS").as_deref() == Ok("1") {
            eprintln!("keychain test skipped: FERRET_SKIP_KEYCHAIN_TESTS=1 and no D-Bus session");
            return false;
        }
        panic!(
            "DBUS_SESSION_BUS_ADDRESS is not set, so the keychain tests cannot reach a Secret \
             Service. Run them as: HOME=$(mktemp -d) dbus-run-session -- bash -c 'echo -n pw | \
             gnome-keyring-daemon --unlock --components=secrets >/dev/null; cargo test -p \
             ferret-engine --lib secrets' (or set FERRET_SKIP_KEYCHAIN_TESTS=1 to skip them)"
        );
    }

    fn unique_profile(tag: &str) -> String {
        format!("test-{tag}-{}", std::process::id())
    }

    #[test]
    fn secret_never_prints_its_value() {
        let secret = Secret::new(TOKEN.to_string()).unwrap();
        let shown = format!("{secret:?} {secret} {:?}", Some(&secret));
        assert!(!shown.contains(TOKEN), "{shown}");
        assert!(!shown.contains("R3alLook"), "{shown}");
        assert_eq!(shown, "Secret(***) Secret(***) Some(Secret(***))");
        assert_eq!(secret.expose(), TOKEN);
    }

    #[test]
    fn secret_is_trimmed_and_empty_is_refused() {
        let secret = Secret::new(format!("  {TOKEN}\r\n")).unwrap();
        assert_eq!(secret.expose(), TOKEN);
        for empty in ["", "   ", "\n", "\t \r\n"] {
            match Secret::new(empty.to_string()) {
                Err(Error::InvalidInput(m)) => assert!(m.contains("empty token"), "{m}"),
                other => panic!("{empty:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn invalid_profile_id_is_refused_before_the_keychain() {
        let secret = Secret::new(TOKEN.to_string()).unwrap();
        for bad in ["", "../x", "Upper", "a/b", &"x".repeat(65)] {
            assert!(matches!(
                store_token(bad, &secret),
                Err(Error::InvalidInput(_))
            ));
            assert!(matches!(load_token(bad), Err(Error::InvalidInput(_))));
            assert!(matches!(delete_token(bad), Err(Error::InvalidInput(_))));
        }
    }

    #[test]
    fn no_secret_service_messages_are_recognised() {
        assert!(is_no_secret_service(
            "DBus error: Unable to autolaunch a dbus-daemon without a $DISPLAY for X11"
        ));
        assert!(is_no_secret_service(
            "DBus error: The name org.freedesktop.secrets was not provided by any .service files"
        ));
        assert!(!is_no_secret_service("Secret Service: object locked"));
    }

    /// Without a session bus the error must say how to start a Secret Service. Environment
    /// variables are process-wide, so this runs the ignored helper below in a child process
    /// whose environment has no bus.
    #[test]
    fn missing_session_bus_gives_an_actionable_message() {
        let exe = std::env::current_exe().unwrap();
        let out = std::process::Command::new(exe)
            .args([
                "--exact",
                &format!(
                    "{}::child_store_without_bus",
                    module_path!().trim_start_matches("ferret_engine::")
                ),
                "--ignored",
                "--nocapture",
            ])
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .env("FERRET_CHILD_WITHOUT_BUS", "1")
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "child failed:\n{text}");
        assert!(text.contains("1 passed"), "child test did not run:\n{text}");
    }

    #[test]
    #[ignore = "run by missing_session_bus_gives_an_actionable_message in a child process"]
    fn child_store_without_bus() {
        assert_eq!(
            std::env::var("FERRET_CHILD_WITHOUT_BUS").as_deref(),
            Ok("1"),
            "helper for missing_session_bus_gives_an_actionable_message; not meant to run alone"
        );
        let secret = Secret::new(TOKEN.to_string()).unwrap();
        let err = store_token(&unique_profile("nobus"), &secret).unwrap_err();
        let message = err.to_string();
        assert!(matches!(err, Error::Keychain(_)), "{message}");
        assert!(
            message.contains("no Secret Service is running"),
            "{message}"
        );
        assert!(message.contains("dbus-run-session"), "{message}");
        assert!(!message.contains(TOKEN), "{message}");
    }

    #[test]
    fn keychain_round_trip() {
        if !keychain_available() {
            return;
        }
        let profile = unique_profile("roundtrip");
        // A leftover from an aborted earlier run with the same pid must not matter.
        delete_token(&profile).unwrap();
        assert!(load_token(&profile).unwrap().is_none());

        store_token(&profile, &Secret::new(TOKEN.to_string()).unwrap()).unwrap();
        let loaded = load_token(&profile).unwrap().expect("token stored");
        assert_eq!(loaded.expose(), TOKEN);

        // Storing again replaces the value.
        let other = "github_pat_11ABCDEFG0abcdefghijklmnop_qrstuvwxyz0123456789";
        store_token(&profile, &Secret::new(other.to_string()).unwrap()).unwrap();
        assert_eq!(load_token(&profile).unwrap().unwrap().expose(), other);

        assert!(delete_token(&profile).unwrap(), "entry existed");
        assert!(load_token(&profile).unwrap().is_none());
        assert!(!delete_token(&profile).unwrap(), "entry is gone");
    }

    #[test]
    fn keychain_entries_are_per_profile() {
        if !keychain_available() {
            return;
        }
        let a = unique_profile("iso-a");
        let b = unique_profile("iso-b");
        let token_a = "ghp_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        let token_b = "ghp_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";
        store_token(&a, &Secret::new(token_a.to_string()).unwrap()).unwrap();
        store_token(&b, &Secret::new(token_b.to_string()).unwrap()).unwrap();
        assert_eq!(load_token(&a).unwrap().unwrap().expose(), token_a);
        assert_eq!(load_token(&b).unwrap().unwrap().expose(), token_b);
        assert!(delete_token(&a).unwrap());
        assert!(load_token(&a).unwrap().is_none());
        assert_eq!(load_token(&b).unwrap().unwrap().expose(), token_b);
        assert!(delete_token(&b).unwrap());
    }
}
