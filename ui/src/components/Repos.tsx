import { useEffect, useMemo, useState } from "preact/hooks";
import { api, errorHelp, errorMessage, type GitHubRepoChoice, type ProfileRecord, type RepoInfo } from "../api";
import type { IndexingState, RepoProgress } from "../indexing";
import { formatBytes, formatCount, formatDuration, relativeTime } from "../lib/format";
import { fraction, gitFraction, percentSemantic, progressRate } from "../lib/progress";
import { Bar, Empty, ErrorNote, Icon, Modal, Spinner, type Toast } from "./ui";

type ToastFn = (kind: Toast["kind"], text: string, hint?: string) => void;

export function ReposView(props: {
  profile: ProfileRecord;
  repos: RepoInfo[] | null;
  reposError: string | null;
  reload: () => Promise<void>;
  indexing: IndexingState;
  toast: ToastFn;
}) {
  const { profile, indexing } = props;
  const active = indexing.jobs.running || indexing.jobs.paused || indexing.order.length > 0;
  return (
    <div class="repos-view">
      {active && <IndexingPanel indexing={indexing} toast={props.toast} />}
      <div class={`repos-grid ${profile.kind === "github" ? "two" : ""}`}>
        <AddedRepos {...props} />
        {profile.kind === "github" && <GitHubBrowser repos={props.repos} reload={props.reload} toast={props.toast} />}
      </div>
    </div>
  );
}

const PHASE: Record<string, string> = {
  walking: "Scanning files",
  chunking: "Chunking",
  embedding: "Embedding",
  saving: "Saving",
  done: "Done",
};
const GIT: Record<string, string> = {
  connecting: "Connecting",
  receiving: "Receiving objects",
  resolving: "Resolving deltas",
  checking_out: "Checking out",
  done: "Cloned",
};

function IndexingPanel({ indexing, toast }: { indexing: IndexingState; toast: ToastFn }) {
  const { jobs, overall } = indexing;
  const run = async (f: () => Promise<void>) => {
    try {
      await f();
    } catch (e) {
      toast("error", errorMessage(e), errorHelp(e));
    }
  };
  const pct = overall?.percent ?? 0;
  return (
    <section class="panel indexing" aria-label="Indexing progress">
      <div class="panel-head">
        <div>
          <h2>
            {jobs.paused ? "Indexing paused" : jobs.running ? "Indexing" : "Indexing finished"}
            {overall && (
              <span class="muted">
                {" "}
                · {overall.repos_done} of {overall.repos_total} repositories
              </span>
            )}
          </h2>
          {jobs.summary && <div class="muted small">{jobs.summary}</div>}
        </div>
        <div class="actions">
          {jobs.paused ? (
            <button class="btn" onClick={() => run(api.indexResume)}>
              <Icon name="play" /> Resume
            </button>
          ) : (
            <button class="btn" onClick={() => run(api.indexPause)} disabled={!jobs.running}>
              <Icon name="pause" /> Pause
            </button>
          )}
          <button class="btn" onClick={() => run(api.indexCancel)} disabled={!jobs.running && !jobs.paused}>
            <Icon name="stop" /> Cancel
          </button>
        </div>
      </div>
      <div class="overall">
        <Bar value={pct / 100} label="Overall progress" />
        <span class="pct" data-testid="overall-pct">
          {Math.round(pct)}%
        </span>
      </div>
      <div class="progress-rows">
        {indexing.order.map((name) => (
          <ProgressRow key={name} rp={indexing.repos[name]!} paused={jobs.paused} />
        ))}
      </div>
    </section>
  );
}

function ProgressRow({ rp, paused }: { rp: RepoProgress; paused: boolean }) {
  const p = rp.progress;
  const g = rp.git;
  if (!p && g) {
    return (
      <div class="progress-row" data-repo={rp.repo}>
        <div class="pr-head">
          <span class="pr-name">{rp.repo}</span>
          <span class="pr-phase">{GIT[g.stage]}</span>
          <span class="muted small">
            {g.stage === "resolving"
              ? `${formatCount(g.indexed_deltas)} / ${formatCount(g.total_deltas)} deltas`
              : `${formatCount(g.received_objects)} / ${formatCount(g.total_objects)} objects`}{" "}
            · {formatBytes(g.received_bytes)}
          </span>
          <span class="pr-pct">{Math.round(gitFraction(g) * 100)}%</span>
        </div>
        <Bar value={gitFraction(g)} label={`Clone ${rp.repo}`} />
      </div>
    );
  }
  if (!p) return null;
  const r = progressRate(p, rp.speed);
  const done = p.phase === "done";
  const lexical = done ? 1 : fraction(p.files_done, p.files_total);
  const semantic = done ? 1 : fraction(p.embeddings_done, p.embeddings_total);
  const sem = done ? 100 : percentSemantic(p.embeddings_done, p.embeddings_total);
  return (
    <div class={`progress-row ${done ? "done" : ""}`} data-repo={rp.repo}>
      <div class="pr-head">
        <span class="pr-name">{rp.repo}</span>
        <span class={`pr-phase ${p.phase}`}>
          {done ? <Icon name="check" size={12} /> : paused ? <Icon name="pause" size={12} /> : <Spinner />} {PHASE[p.phase]}
        </span>
        {!done && r.rate != null && (
          <span class="muted small">
            {r.rate >= 10 ? Math.round(r.rate) : r.rate.toFixed(1)} {r.unit}
          </span>
        )}
        {!done && (
          <span class="muted small" data-testid="eta">
            ETA {paused ? "paused" : formatDuration(r.eta)}
          </span>
        )}
        {done && <span class="muted small">in {formatDuration(p.elapsed_secs)}</span>}
        <span class="pr-pct sem" data-testid="semantic">
          {sem}% semantic
        </span>
      </div>
      <div class="pr-bars">
        <div class="pr-bar">
          <span class="pr-label">Files</span>
          <Bar value={lexical} label={`Files ${rp.repo}`} />
          <span class="pr-count">
            {formatCount(p.files_done)} / {formatCount(p.files_total)}
          </span>
        </div>
        <div class="pr-bar">
          <span class="pr-label">Embeddings</span>
          <Bar value={semantic} tone="semantic" label={`Embeddings ${rp.repo}`} />
          <span class="pr-count">
            {formatCount(p.embeddings_done)} / {formatCount(p.embeddings_total)}
          </span>
        </div>
      </div>
      <div class="muted small">{formatCount(p.chunks_written)} chunks written · lexical search works as soon as files are chunked</div>
    </div>
  );
}

function repoState(r: RepoInfo): { label: string; tone: string } {
  if (r.needs_confirmation) return { label: "Needs confirmation", tone: "warn" };
  if (r.paused) return { label: "Paused", tone: "warn" };
  if (r.last_indexed_at == null) return { label: "Not indexed", tone: "muted" };
  const sem = percentSemantic(r.embedded_chunks, r.chunks);
  if (sem < 100) return { label: "Lexical ready", tone: "semantic" };
  return { label: "Up to date", tone: "ok" };
}

function AddedRepos({ profile, repos, reposError, reload, indexing, toast }: Parameters<typeof ReposView>[0]) {
  const [removing, setRemoving] = useState<RepoInfo | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const act = async (key: string, f: () => Promise<unknown>, ok?: string) => {
    setBusy(key);
    try {
      await f();
      if (ok) toast("ok", ok);
    } catch (e) {
      toast("error", errorMessage(e), errorHelp(e));
    } finally {
      setBusy(null);
    }
  };
  const addLocal = () =>
    act("add-local", async () => {
      const path = await api.pickFolder();
      if (!path) return;
      const repo = await api.repoAddLocal(path);
      toast("ok", `Added ${repo.name}`, "Indexing starts now; lexical search works within seconds.");
      await reload();
    });

  return (
    <section class="panel">
      <div class="panel-head">
        <div>
          <h2>Your repositories</h2>
          <div class="muted small">
            {repos ? `${repos.length} in ${profile.display_name}` : "Loading…"}
          </div>
        </div>
        <div class="actions">
          {repos && repos.length > 0 && (
            <button class="btn" onClick={() => act("sync-all", () => api.repoSync(null))} disabled={busy !== null} title="Fetch and re-index every repository">
              <Icon name="sync" /> Sync all
            </button>
          )}
          <button class="btn primary" onClick={addLocal} disabled={busy !== null}>
            {busy === "add-local" ? <Spinner /> : <Icon name="folder" />} Add local folder
          </button>
        </div>
      </div>
      {reposError && <ErrorNote message={reposError} hint="The profile's index could not be read. Try again, or re-index from the CLI with `ferret index`." />}
      {repos === null && !reposError && (
        <div class="loading-block">
          <Spinner />
        </div>
      )}
      {repos && repos.length === 0 && (
        <Empty icon="repo" title="No repositories yet">
          {profile.kind === "github"
            ? "Pick repositories from GitHub on the right, or add a folder from this machine."
            : "Add a folder from this machine — any directory works, git or not."}
        </Empty>
      )}
      <ul class="repo-list">
        {repos?.map((r) => {
          const st = repoState(r);
          const live = indexing.repos[r.name];
          const sem = percentSemantic(r.embedded_chunks, r.chunks);
          return (
            <li class="repo-row" data-repo={r.name}>
              <div class={`repo-icon ${r.kind}`}>
                <Icon name={r.kind === "github" ? "globe" : "folder"} />
              </div>
              <div class="repo-main">
                <div class="repo-name">
                  {r.name}
                  {r.branch && (
                    <span class="branch">
                      {r.branch}
                      {r.head && <span class="muted">@{r.head.slice(0, 7)}</span>}
                    </span>
                  )}
                </div>
                <div class="repo-sub muted small" title={r.root}>
                  {r.remote ?? r.root}
                </div>
              </div>
              <div class="repo-stats">
                <span>
                  <b>{formatCount(r.files)}</b> files
                </span>
                <span>
                  <b>{formatCount(r.chunks)}</b> chunks
                </span>
                <span class={`sem-pill ${sem === 100 ? "full" : ""}`} title={`${formatCount(r.embedded_chunks)} of ${formatCount(r.chunks)} chunks embedded`}>
                  {sem}% semantic
                </span>
              </div>
              <div class="repo-state">
                {live?.progress && live.progress.phase !== "done" ? (
                  <span class="state semantic">
                    <Spinner /> {PHASE[live.progress.phase]}
                  </span>
                ) : live?.git && live.git.stage !== "done" ? (
                  <span class="state semantic">
                    <Spinner /> Cloning
                  </span>
                ) : (
                  <span class={`state ${st.tone}`}>{st.label}</span>
                )}
                <span class="muted small" title={r.last_indexed_at ? new Date(r.last_indexed_at * 1000).toLocaleString() : ""}>
                  {r.last_indexed_at ? `indexed ${relativeTime(r.last_indexed_at)}` : "never indexed"}
                </span>
              </div>
              <div class="repo-actions">
                {r.kind === "github" && (
                  <button class="icon-btn" title={r.paused ? "Paused: resume to sync" : "Sync: fetch from GitHub and index changes"} aria-label={`Sync ${r.name}`} disabled={r.paused} onClick={() => act(r.name, () => api.repoSync(r.name))}>
                    <Icon name="sync" />
                  </button>
                )}
                <button class="icon-btn" title={r.paused ? "Paused: resume to re-index" : "Re-index"} aria-label={`Re-index ${r.name}`} disabled={r.paused} onClick={() => act(r.name, () => api.repoIndex(r.name))}>
                  <Icon name="refresh" />
                </button>
                {r.needs_confirmation && (
                  <button class="icon-btn" title={`Confirm: this folder came with an imported profile; trust ${r.root} and index it`} aria-label={`Confirm ${r.name}`} onClick={() => act(r.name, async () => (await api.repoConfirm(r.name), await reload()), `Confirmed ${r.name}: indexing it`)}>
                    <Icon name="check" />
                  </button>
                )}
                {r.paused ? (
                  <button class="icon-btn" title="Resume: watch, fetch and index again (catches up now)" aria-label={`Resume ${r.name}`} onClick={() => act(r.name, async () => (await api.repoSetPaused(r.name, false), await reload()), `Resumed ${r.name}`)}>
                    <Icon name="play" />
                  </button>
                ) : (
                  <button class="icon-btn" title="Pause: stop watching, fetching and indexing it (it stays searchable)" aria-label={`Pause ${r.name}`} onClick={() => act(r.name, async () => (await api.repoSetPaused(r.name, true), await reload()), `Paused ${r.name}: it stays searchable`)}>
                    <Icon name="pause" />
                  </button>
                )}
                <button class="icon-btn danger" title="Remove" aria-label={`Remove ${r.name}`} onClick={() => setRemoving(r)}>
                  <Icon name="trash" />
                </button>
              </div>
            </li>
          );
        })}
      </ul>
      {removing && (
        <Modal
          title={`Remove ${removing.name}?`}
          onClose={() => setRemoving(null)}
          footer={
            <>
              <button class="btn" onClick={() => setRemoving(null)}>
                Cancel
              </button>
              <button
                class="btn danger"
                onClick={() => {
                  const r = removing;
                  setRemoving(null);
                  void act(r.name, async () => {
                    await api.repoRemove(r.name);
                    await reload();
                  }, `Removed ${r.name}`);
                }}
              >
                <Icon name="trash" /> Remove
              </button>
            </>
          }
        >
          <p>
            Its {formatCount(removing.chunks)} chunks and embeddings leave the index.{" "}
            {removing.kind === "github" ? "Ferret's clone is deleted too; the repository on GitHub is not touched." : `The folder ${removing.root} itself is not touched.`}
          </p>
        </Modal>
      )}
    </section>
  );
}

function GitHubBrowser({ repos, reload, toast }: { repos: RepoInfo[] | null; reload: () => Promise<void>; toast: ToastFn }) {
  const [list, setList] = useState<GitHubRepoChoice[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [filter, setFilter] = useState("");
  const [picked, setPicked] = useState<Set<string>>(new Set());
  const [adding, setAdding] = useState(false);

  const load = async () => {
    setError(null);
    try {
      setList(await api.githubRepos());
    } catch (e) {
      setError(errorMessage(e));
    }
  };
  useEffect(() => void load(), []);
  // Mark repos added since the list was fetched.
  const added = useMemo(() => new Set((repos ?? []).map((r) => r.name)), [repos]);
  const isAdded = (g: GitHubRepoChoice) => g.added || added.has(g.full_name) || added.has(g.name);

  const shown = useMemo(() => {
    const f = filter.trim().toLowerCase();
    return (list ?? []).filter((g) => !f || g.full_name.toLowerCase().includes(f) || (g.language ?? "").toLowerCase().includes(f));
  }, [list, filter]);

  const toggle = (name: string) => {
    const next = new Set(picked);
    if (next.has(name)) next.delete(name);
    else next.add(name);
    setPicked(next);
  };
  const chosen = (list ?? []).filter((g) => picked.has(g.full_name));
  const estChunks = chosen.reduce((a, g) => a + g.estimated_chunks, 0);

  const add = async () => {
    setAdding(true);
    const failed: string[] = [];
    for (const g of chosen) {
      try {
        await api.repoAddGithub(g.full_name, null);
      } catch (e) {
        failed.push(g.full_name);
        toast("error", `${g.full_name}: ${errorMessage(e)}`);
      }
    }
    setAdding(false);
    setPicked(new Set(failed));
    if (chosen.length > failed.length) toast("ok", `Added ${chosen.length - failed.length} repositor${chosen.length - failed.length === 1 ? "y" : "ies"}`, "Cloning and indexing now — follow along above.");
    await Promise.all([reload(), load()]);
  };

  return (
    <section class="panel github">
      <div class="panel-head">
        <div>
          <h2>From GitHub</h2>
          <div class="muted small">{list ? `${list.length} repositories your token can read` : "Loading…"}</div>
        </div>
      </div>
      <div class="input-icon">
        <Icon name="search" />
        <input class="input" id="gh-filter" placeholder="Filter by name or language" value={filter} onInput={(e) => setFilter(e.currentTarget.value)} spellcheck={false} />
      </div>
      {error && (
        <ErrorNote
          message={error}
          hint={
            <>
              Check the token still works and has Metadata: read. <button class="link" onClick={load}>Try again</button>
            </>
          }
        />
      )}
      {!list && !error && (
        <div class="loading-block">
          <Spinner /> Asking GitHub…
        </div>
      )}
      {list && shown.length === 0 && <Empty icon="search" title={filter ? `Nothing matches “${filter}”` : "No repositories"}>{filter ? "Try part of the name." : "This token cannot see any repository. Give it access to some in its settings on GitHub."}</Empty>}
      <ul class="gh-list">
        {shown.map((g) => {
          const done = isAdded(g);
          return (
            <li class={`gh-row ${picked.has(g.full_name) ? "picked" : ""} ${done ? "added" : ""}`} data-repo={g.full_name}>
              <label>
                <input type="checkbox" checked={done || picked.has(g.full_name)} disabled={done} onChange={() => toggle(g.full_name)} />
                <span class="gh-main">
                  <span class="gh-name">
                    <span class="muted">{g.owner}/</span>
                    {g.name}
                  </span>
                  <span class="gh-meta">
                    <span class={`vis ${g.private ? "private" : "public"}`}>{g.private ? "Private" : "Public"}</span>
                    {g.language && (
                      <span class="lang-dot">
                        <i style={{ "--h": langHue(g.language) }} />
                        {g.language}
                      </span>
                    )}
                    <span>{formatBytes(g.size_kb * 1024)}</span>
                    <span title={`about ${formatCount(g.estimated_files)} files`}>~{formatCount(g.estimated_chunks)} chunks</span>
                    {g.pushed_at && <span>pushed {relativeTime(Date.parse(g.pushed_at) / 1000)}</span>}
                  </span>
                </span>
                {done && (
                  <span class="added-mark">
                    <Icon name="check" size={12} /> Added
                  </span>
                )}
              </label>
            </li>
          );
        })}
      </ul>
      <div class="gh-foot">
        <span class="muted small">
          {chosen.length ? `${chosen.length} selected · ~${formatCount(estChunks)} chunks` : "Select repositories to add"}
        </span>
        <button class="btn primary" disabled={!chosen.length || adding} onClick={add} id="gh-add">
          {adding ? <Spinner /> : <Icon name="plus" />} Add {chosen.length || ""} {chosen.length === 1 ? "repository" : "repositories"}
        </button>
      </div>
    </section>
  );
}

function langHue(lang: string): number {
  let h = 0;
  for (const c of lang) h = (h * 37 + c.charCodeAt(0)) % 360;
  return h;
}
