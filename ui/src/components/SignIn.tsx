import { useState } from "preact/hooks";
import { api, errorMessage, type ProfileRecord } from "../api";
import { PROFILE_ID, slugify } from "../lib/format";
import { ErrorNote, Icon, LogoMark, Spinner } from "./ui";

export const TOKEN_URL = "https://github.com/settings/personal-access-tokens/new";

/**
 * Sign in with a GitHub token, or start a local profile. The token lives only in this
 * component's state until submit, is cleared right after (success or failure) and is never
 * shown again anywhere.
 */
export function SignIn({
  canCancel,
  defaultProfile = null,
  onCancel,
  onDone,
}: {
  canCancel: boolean;
  /** On a first run: the built-in local profile, offered as "skip". */
  defaultProfile?: ProfileRecord | null;
  onCancel: () => void;
  onDone: (msg: string) => void;
}) {
  const [token, setToken] = useState("");
  const [apiUrl, setApiUrl] = useState("");
  const [busy, setBusy] = useState<"github" | "local" | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [localName, setLocalName] = useState("");
  const [localError, setLocalError] = useState<string | null>(null);
  const localId = slugify(localName);

  const submit = async (e: Event) => {
    e.preventDefault();
    const t = token.trim();
    setToken(""); // never keep the secret around, whatever happens next
    if (!t) {
      setError("Paste a personal access token first.");
      return;
    }
    setBusy("github");
    setError(null);
    try {
      const r = await api.profileLogin(t, apiUrl.trim() || null);
      onDone(r.created ? `Signed in as ${r.user.login}` : `Token updated for ${r.user.login}`);
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(null);
    }
  };

  const useDefault = async () => {
    if (!defaultProfile) return;
    setBusy("local");
    setLocalError(null);
    try {
      const p = await api.profileUse(defaultProfile.id);
      onDone(`Using the local profile ${p.id}`);
    } catch (err) {
      setLocalError(errorMessage(err));
    } finally {
      setBusy(null);
    }
  };

  const createLocal = async (e: Event) => {
    e.preventDefault();
    if (!PROFILE_ID.test(localId)) {
      setLocalError("Use letters, digits, - or _ (up to 64).");
      return;
    }
    setBusy("local");
    setLocalError(null);
    try {
      const p = await api.profileCreateLocal(localId);
      onDone(`Created local profile ${p.id}`);
    } catch (err) {
      setLocalError(errorMessage(err));
    } finally {
      setBusy(null);
    }
  };

  return (
    <div class="signin">
      <div class="signin-card">
        <div class="signin-head">
          <span class="logo big" aria-hidden="true">
            <LogoMark size={28} />
          </span>
          <h1>{canCancel ? "Add an account" : "Welcome to Ferret"}</h1>
          <p class="muted">Fast, private code search over your repositories. Everything is indexed and searched on this machine.</p>
        </div>

        <form class="signin-form" onSubmit={submit} autocomplete="off">
          <label class="field">
            <span>GitHub personal access token</span>
            <div class="input-icon">
              <Icon name="key" />
              <input
                id="token"
                class="input mono"
                type="password"
                value={token}
                onInput={(e) => setToken(e.currentTarget.value)}
                placeholder="github_pat_…"
                autocomplete="off"
                spellcheck={false}
                autoFocus
                aria-describedby="token-help"
              />
            </div>
          </label>
          <div id="token-help" class="token-help">
            <a href={TOKEN_URL} target="_blank" rel="noreferrer">
              Create a fine-grained read-only token <Icon name="external" size={12} />
            </a>
            <span class="muted">with repository permissions:</span>
            <ul class="perms">
              <li>
                <Icon name="check" size={12} /> Contents: <b>Read-only</b>
              </li>
              <li>
                <Icon name="check" size={12} /> Metadata: <b>Read-only</b>
              </li>
            </ul>
            <span class="muted small">The token is kept in your system keychain, never on disk or in logs.</span>
          </div>
          <details class="advanced">
            <summary>Advanced</summary>
            <label class="field">
              <span>GitHub Enterprise API URL</span>
              <input
                class="input mono"
                value={apiUrl}
                onInput={(e) => setApiUrl(e.currentTarget.value)}
                placeholder="https://github.example.com/api/v3"
                spellcheck={false}
              />
            </label>
          </details>
          {error && <ErrorNote message={error} hint="Check the token is pasted whole, not expired, and has the permissions above." />}
          <button class="btn primary wide" type="submit" disabled={busy !== null}>
            {busy === "github" ? <Spinner /> : <Icon name="lock" />} Sign in with token
          </button>
        </form>

        <div class="divider">
          <span>or</span>
        </div>

        <form class="local-form" onSubmit={createLocal}>
          <label class="field">
            <span>Local profile name</span>
            <div class="row">
              <input
                id="local-name"
                class="input"
                value={localName}
                onInput={(e) => setLocalName(e.currentTarget.value)}
                placeholder="work, personal…"
                spellcheck={false}
              />
              <button class="btn" type="submit" disabled={busy !== null || !localId}>
                {busy === "local" ? <Spinner /> : <Icon name="folder" />} Continue with a local profile
              </button>
            </div>
          </label>
          {localName && localId !== localName && <div class="muted small">Profile id: <code>{localId || "—"}</code></div>}
          {localError && <ErrorNote message={localError} />}
        </form>

        {defaultProfile && (
          <button class="btn ghost skip" onClick={() => void useDefault()} disabled={busy !== null}>
            Skip for now: use the local profile <code>{defaultProfile.id}</code>
          </button>
        )}

        {canCancel && (
          <button class="btn ghost back" onClick={onCancel}>
            Cancel
          </button>
        )}
      </div>
    </div>
  );
}
