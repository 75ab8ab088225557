import { useEffect, useState } from "preact/hooks";
import { api, errorHelp, errorMessage, EDITORS, LIMIT_WARN_AT, type About, type AgentClient, type AgentSetup, type EditorKind, type LimitUsage, type ModelStatus, type ProfileRecord, type ProfileStats, type SecuritySettings, type Settings } from "../api";
import { formatBytes, formatCount, relativeTime } from "../lib/format";
import { SecurityPanel } from "./Security";
import { Bar, ErrorNote, Icon, Spinner, type Toast } from "./ui";

type ToastFn = (kind: Toast["kind"], text: string, hint?: string) => void;

export function limitLabel(l: LimitUsage): string {
  const fmt = l.name === "bytes" ? formatBytes : formatCount;
  return `${fmt(l.used)} of ${fmt(l.limit)}`;
}

/** "41 chunks/s on this machine", or why there is no figure yet. */
export function modelSpeed(chunksPerSec: number | null): string {
  if (chunksPerSec == null) return "speed not measured yet (measured by the next indexing run)";
  return `${chunksPerSec >= 10 ? Math.round(chunksPerSec) : chunksPerSec.toFixed(1)} chunks/s on this machine`;
}

/**
 * The embedding model: which one serves searches, the others this build knows with their
 * speed here, and a switch in progress. A switch re-embeds in the background while the
 * current model keeps answering; it is polled while it runs.
 */
export function ModelPanel({ toast }: { toast: ToastFn }) {
  const [status, setStatus] = useState<ModelStatus | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const switching = status?.switch != null;

  useEffect(() => {
    let alive = true;
    const load = () =>
      api.modelStatus().then(
        (s) => alive && (setStatus(s), setError(null)),
        (e) => alive && setError(errorMessage(e)),
      );
    load();
    const timer = switching ? setInterval(load, 2000) : undefined;
    return () => {
      alive = false;
      if (timer) clearInterval(timer);
    };
  }, [switching]);

  const use = async (id: string) => {
    setBusy(true);
    try {
      const s = await api.modelUse(id);
      setStatus(s);
      if (s.switch) toast("ok", `Re-embedding for ${s.switch.to}`, `${status?.active ?? "The current model"} keeps answering searches until it is done.`);
      else toast("ok", `Searching with ${s.active}`);
    } catch (err) {
      toast("error", errorMessage(err), errorHelp(err));
    } finally {
      setBusy(false);
    }
  };

  if (error) return <ErrorNote message={error} hint="The model list could not be read from this profile." />;
  if (!status) return <Spinner />;
  const sw = status.switch;
  return (
    <div class="models" id="models">
      {sw && (
        <div class="model-switch" id="model-switch">
          <div class="limit-head">
            <span>
              Re-embedding for <code>{sw.to}</code>
            </span>
            <span class="limit-pct">{sw.total ? Math.floor((sw.embedded / sw.total) * 100) : 0}%</span>
          </div>
          <Bar value={sw.total ? sw.embedded / sw.total : 0} tone="ok" label="re-embedding progress" />
          <span class="hint block">
            {formatCount(sw.embedded)} of {formatCount(sw.total)} chunks. <code>{status.active}</code> answers searches until the new vectors are complete; then the switch is instant.
          </span>
          <button type="button" class="btn small" id="model-switch-cancel" disabled={busy} onClick={() => use(status.active)}>
            Cancel switch
          </button>
        </div>
      )}
      {status.models.map((m) => {
        const active = m.id === status.active;
        const target = sw?.to === m.id;
        return (
          <div class={`model ${active ? "active" : ""}`} data-model={m.id}>
            <div class="model-head">
              <strong>{m.name}</strong>
              {active && <span class="badge ok">in use</span>}
              {target && <span class="badge">switching</span>}
            </div>
            <p class="muted small">{m.description}</p>
            <p class="small model-facts">
              {m.dims} dimensions · {m.max_windows === 1 ? `first ${m.max_tokens} tokens of a chunk` : `up to ${m.max_windows} windows of ${m.max_tokens} tokens`} · <span class="model-speed">{modelSpeed(m.chunks_per_sec)}</span>
            </p>
            {!m.installed && <p class="hint bad">Its files are missing: run scripts/setup.sh.</p>}
            {!active && !target && (
              <button type="button" class="btn small" disabled={busy || !m.installed} onClick={() => use(m.id)}>
                Use this model
              </button>
            )}
          </div>
        );
      })}
    </div>
  );
}

/** The `ferret mcp` command for this profile and each agent's configuration, with copy buttons. */
export function AgentPanel({ profile, toast }: { profile: ProfileRecord; toast: ToastFn }) {
  const [setup, setSetup] = useState<AgentSetup | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [client, setClient] = useState<AgentClient>("claude-code");

  useEffect(() => {
    api.agentSetup().then(setSetup, (e) => setError(errorMessage(e)));
  }, [profile.id]);

  const copy = async (text: string, what: string) => {
    try {
      await api.clipboardWrite(text);
      toast("ok", `Copied ${what}`);
    } catch (err) {
      toast("error", errorMessage(err), errorHelp(err));
    }
  };

  if (error) return <ErrorNote message={error} hint="The agent setup could not be prepared for this profile." />;
  if (!setup) return <Spinner />;
  const config = setup.configs.find((c) => c.client === client) ?? setup.configs[0]!;
  return (
    <div class="agent-setup" id="agent-setup">
      <label class="field">
        <span>Server command</span>
        <div class="copy-row">
          <code class="mono copy-text" id="agent-command">{setup.command}</code>
          <button type="button" class="btn small" id="agent-command-copy" onClick={() => copy(setup.command, "the command")}>
            Copy
          </button>
        </div>
      </label>
      <label class="field">
        <span>Agent</span>
        <select class="input" id="agent-client" value={client} onChange={(e) => setClient(e.currentTarget.value as AgentClient)}>
          {setup.configs.map((c) => (
            <option value={c.client}>{c.name}</option>
          ))}
        </select>
        <span class="hint">{config.place}</span>
      </label>
      <pre class="mono agent-config" id="agent-config">{config.text}</pre>
      <button type="button" class="btn small" id="agent-config-copy" onClick={() => copy(config.text, `the ${config.name} configuration`)}>
        Copy configuration
      </button>
    </div>
  );
}

/** The version, model and directories this build uses: what a bug report needs. */
export function AboutPanel() {
  const [about, setAbout] = useState<About | null>(null);
  useEffect(() => {
    api.about().then(setAbout, () => {});
  }, []);
  if (!about) return <Spinner />;
  return (
    <dl class="stats about" id="about">
      <dt>Version</dt>
      <dd id="about-version">Ferret {about.version}</dd>
      <dt>Model</dt>
      <dd>{about.model}</dd>
      <dt>ONNX Runtime</dt>
      <dd>{about.onnxruntime}</dd>
      <dt>Model files</dt>
      <dd class="mono path" title={about.model_dir ?? undefined}>
        {about.model_dir ? `${about.model_dir}${about.model_dir_source ? ` (${about.model_dir_source})` : ""}` : "not found"}
      </dd>
      <dt>Data</dt>
      <dd class="mono path" title={about.data_dir ?? undefined}>{about.data_dir ?? "unknown"}</dd>
    </dl>
  );
}

export function SettingsView({ profile, toast }: { profile: ProfileRecord; toast: ToastFn }) {
  const [saved, setSaved] = useState<Settings | null>(null);
  const [draft, setDraft] = useState<Settings | null>(null);
  const [excludes, setExcludes] = useState("");
  const [stats, setStats] = useState<ProfileStats | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  // Bumped after a save, so the Security section shows a command just saved.
  const [securityKey, setSecurityKey] = useState(0);

  useEffect(() => {
    api.settingsGet().then(
      (s) => {
        setSaved(s);
        setDraft(s);
        setExcludes(s.excludes.join("\n"));
      },
      (e) => setError(errorMessage(e)),
    );
    api.profileStats(null).then(setStats, () => {});
  }, [profile.id]);

  if (error) return <ErrorNote message={error} hint="Settings could not be read from this profile's config.json. Fix or delete the file, then reopen Settings." />;
  if (!draft || !saved) return <div class="loading-block"><Spinner /></div>;

  const next: Settings = { ...draft, excludes: excludes.split("\n").map((s) => s.trim()).filter(Boolean) };
  const dirty = JSON.stringify(next) !== JSON.stringify(saved);
  const templateOk = draft.editor !== "custom" || (!!draft.editor_command && draft.editor_command.includes("{path}"));
  const set = <K extends keyof Settings>(k: K, v: Settings[K]) => setDraft({ ...draft, [k]: v });
  // A reset editor command is gone from the form too, so the next Save cannot bring it back.
  const securityChanged = (s: SecuritySettings) => {
    const editor = { editor: s.editor, editor_command: s.editor_command };
    setSaved((current) => current && { ...current, ...editor });
    setDraft((current) => current && { ...current, ...editor });
  };

  const save = async (e: Event) => {
    e.preventDefault();
    setSaving(true);
    try {
      await api.settingsSet(next);
      setSaved(next);
      setSecurityKey((k) => k + 1);
      toast("ok", "Settings saved");
    } catch (err) {
      toast("error", errorMessage(err), errorHelp(err));
    } finally {
      setSaving(false);
    }
  };

  return (
    <form class="settings" onSubmit={save}>
      <div class="settings-main">
        <section class="panel">
          <h2>Editor</h2>
          <p class="muted small">Enter on a result opens it here, at the line.</p>
          <label class="field">
            <span>Open results in</span>
            <select class="input" id="editor" value={draft.editor} onChange={(e) => set("editor", e.currentTarget.value as EditorKind)}>
              {EDITORS.map(([id, label]) => (
                <option value={id}>{label}</option>
              ))}
            </select>
          </label>
          {draft.editor === "custom" && (
            <label class="field">
              <span>Command template</span>
              <input
                class="input mono"
                id="editor-command"
                value={draft.editor_command ?? ""}
                onInput={(e) => set("editor_command", e.currentTarget.value || null)}
                placeholder="code --goto {path}:{line}"
                spellcheck={false}
              />
              <span class={`hint ${templateOk ? "" : "bad"}`}>
                <code>{"{path}"}</code> is replaced by the file's absolute path, <code>{"{line}"}</code> by the line number.
              </span>
            </label>
          )}
        </section>

        <section class="panel">
          <h2>Indexing</h2>
          <label class="field">
            <span>Exclude paths (one glob per line, in addition to .gitignore)</span>
            <textarea class="input mono" id="excludes" rows={5} value={excludes} onInput={(e) => setExcludes(e.currentTarget.value)} spellcheck={false} placeholder={"vendor/\n*.min.js"} />
          </label>
          <div class="field-row">
            <label class="field">
              <span>Indexing threads</span>
              <input class="input" id="threads" type="number" min={0} max={64} value={draft.index_threads} onInput={(e) => set("index_threads", Math.max(0, Number(e.currentTarget.value) || 0))} />
              <span class="hint">0 = automatic (half the cores, so your machine stays responsive)</span>
            </label>
            <label class="field">
              <span>Fetch from GitHub every</span>
              <div class="input-suffix">
                <input class="input" id="fetch-interval" type="number" min={0} value={draft.fetch_interval_mins} onInput={(e) => set("fetch_interval_mins", Math.max(0, Number(e.currentTarget.value) || 0))} />
                <span>minutes</span>
              </div>
              <span class="hint">0 = only when you press Sync</span>
            </label>
          </div>
        </section>

        <section class="panel" aria-labelledby="security-heading">
          <h2 id="security-heading">Security</h2>
          <p class="muted small">What Ferret may run, load or open without asking each time. A profile imported from a backup can bring these along: revoke anything you did not set yourself.</p>
          <SecurityPanel reloadKey={securityKey} onChange={securityChanged} toast={toast} />
        </section>

        <section class="panel">
          <h2>Search model</h2>
          <p class="muted small">The embedding model that finds code by meaning. Switching re-embeds every chunk in the background; searches keep working meanwhile.</p>
          <ModelPanel toast={toast} />
        </section>

        <section class="panel">
          <h2>Connect a coding agent</h2>
          <p class="muted small">Claude Code, Cursor, VS Code, Zed and other agents can search this profile's index through Ferret's MCP server: private, read-only, answered on this machine.</p>
          <AgentPanel profile={profile} toast={toast} />
        </section>

        <section class="panel">
          <h2>System</h2>
          <label class="toggle">
            <input type="checkbox" id="start-at-login" checked={draft.start_at_login} onChange={(e) => set("start_at_login", e.currentTarget.checked)} />
            <span class="switch" aria-hidden="true" />
            <span>
              Start Ferret at login
              <span class="hint block">Runs in the tray and keeps indexes fresh; closing the window keeps indexing.</span>
            </span>
          </label>
        </section>

        <div class="save-bar">
          <span class="muted small">{dirty ? "Unsaved changes" : "All changes saved"}</span>
          <button type="button" class="btn" disabled={!dirty} onClick={() => (setDraft(saved), setExcludes(saved.excludes.join("\n")))}>
            Revert
          </button>
          <button type="submit" class="btn primary" disabled={!dirty || saving || !templateOk}>
            {saving ? <Spinner /> : <Icon name="check" />} Save
          </button>
        </div>
      </div>

      <aside class="settings-side">
        <section class="panel">
          <h2>Usage</h2>
          <p class="muted small">
            Profile <code>{profile.id}</code> · {profile.status}
          </p>
          {!stats && <Spinner />}
          {stats && (
            <>
              <div class="limits">
                {stats.limits.map((l) => {
                  const tone = l.fraction >= 1 ? "danger" : l.fraction >= LIMIT_WARN_AT ? "warn" : "ok";
                  return (
                    <div class={`limit ${tone}`} data-limit={l.name}>
                      <div class="limit-head">
                        <span class="limit-name">{l.name === "bytes" ? "Disk" : l.name[0]!.toUpperCase() + l.name.slice(1)}</span>
                        <span class="muted small">{limitLabel(l)}</span>
                        <span class="limit-pct">{Math.round(l.fraction * 100)}%</span>
                      </div>
                      <Bar value={l.fraction} tone={tone} label={`${l.name} limit`} />
                      {tone !== "ok" && (
                        <div class="limit-warn">
                          <Icon name="warn" size={12} /> {tone === "danger" ? "Limit reached: indexing more is refused." : "Over 80%: remove repositories or raise the limit."}
                        </div>
                      )}
                    </div>
                  );
                })}
              </div>
              {stats.warnings.map((w) => (
                <div class="warning">
                  <Icon name="warn" size={14} /> {w}
                </div>
              ))}
              <dl class="stats">
                <dt>Repositories</dt>
                <dd>{formatCount(stats.repos)}</dd>
                <dt>Files</dt>
                <dd>{formatCount(stats.files)}</dd>
                <dt>Chunks</dt>
                <dd>{formatCount(stats.chunks)}</dd>
                <dt>Vectors</dt>
                <dd>{formatCount(stats.vectors)}</dd>
                <dt>On disk</dt>
                <dd>{formatBytes(stats.bytes_on_disk)}</dd>
                <dt>Queries run</dt>
                <dd>{formatCount(stats.queries_run)}</dd>
                <dt>Last indexed</dt>
                <dd>{relativeTime(stats.last_indexed_at)}</dd>
              </dl>
            </>
          )}
        </section>

        <section class="panel">
          <h2>About</h2>
          <AboutPanel />
        </section>
      </aside>
    </form>
  );
}
