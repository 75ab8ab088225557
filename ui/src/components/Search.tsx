import type { JSX } from "preact";
import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { api, errorHelp, errorMessage, type FileContext, type RepoInfo, type SearchHit, type SearchMode } from "../api";
import { highlightSnippet } from "../lib/highlight";
import { acceptCompletion, buildQuery, complete, extractChips, parseQuery, type Chip } from "../lib/query";
import { bestHitIndex, foundBy, groupByFile, navigate, targetLine, visualOrder, type NavKey } from "../lib/results";
import { CodeBlock } from "./Code";
import { Empty, ErrorNote, Icon, Kbd, Spinner, type Toast } from "./ui";

export const DEBOUNCE_MS = 120;
const LIMIT = 50;

type ToastFn = (kind: Toast["kind"], text: string, hint?: string) => void;

const isMac = typeof navigator !== "undefined" && /Mac/.test(navigator.platform);

export function SearchView({
  repos,
  deepLink,
  toast,
  goRepos,
}: {
  repos: RepoInfo[] | null;
  deepLink: { query: string; n: number } | null;
  toast: ToastFn;
  goRepos: () => void;
}) {
  const [chips, setChips] = useState<Chip[]>([]);
  const [text, setText] = useState("");
  const [mode, setMode] = useState<SearchMode>("hybrid");
  const [hits, setHits] = useState<SearchHit[]>([]);
  // Nothing found answers the query: the hits are only the closest code.
  const [weak, setWeak] = useState(false);
  const [status, setStatus] = useState<{ state: "idle" | "loading" | "done" | "error"; ms?: number; error?: string; query?: string }>({ state: "idle" });
  const [selected, setSelected] = useState(-1);
  const [acIndex, setAcIndex] = useState(0);
  const [acClosed, setAcClosed] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const generation = useRef(0);

  const repoNames = useMemo(() => (repos ?? []).map((r) => r.name), [repos]);
  const completion = acClosed ? null : complete(text, repoNames);
  // While a `repo:`/`lang:` value is being picked, search without that unfinished token.
  const query = buildQuery(chips, completion ? text.replace(/(?:^|\s)(repo|lang):\S*$/i, "") : text);

  const groups = useMemo(() => groupByFile(hits), [hits]);
  const ordered = useMemo(() => visualOrder(groups), [groups]);
  const current = selected >= 0 ? ordered[selected] : undefined;

  // Deep links replace the whole query.
  useEffect(() => {
    if (!deepLink) return;
    const q = parseQuery(deepLink.query);
    setChips(q.chips);
    setText(q.text);
    input.current?.focus();
  }, [deepLink?.n]);

  useEffect(() => input.current?.focus(), []);

  // Instant search: debounced, and a response that is not the latest is dropped.
  useEffect(() => {
    const mine = ++generation.current;
    if (!query) {
      setHits([]);
      setWeak(false);
      setSelected(-1);
      setStatus({ state: "idle" });
      return;
    }
    const timer = setTimeout(async () => {
      setStatus((s) => ({ ...s, state: "loading" }));
      const started = performance.now();
      try {
        const result = await api.search(query, mode, LIMIT);
        if (mine !== generation.current) return;
        setHits(result.results);
        setWeak(result.no_strong_match);
        setSelected(bestHitIndex(result.results));
        setStatus({ state: "done", ms: Math.round(performance.now() - started), query });
      } catch (e) {
        if (mine !== generation.current) return;
        setHits([]);
        setWeak(false);
        setSelected(-1);
        setStatus({ state: "error", error: errorMessage(e), query });
      }
    }, DEBOUNCE_MS);
    return () => clearTimeout(timer);
  }, [query, mode]);

  // Keep the selected hit in view.
  useEffect(() => {
    document.querySelector(`[data-hit="${selected}"]`)?.scrollIntoView({ block: "nearest" });
  }, [selected, hits]);

  const onInput = (value: string) => {
    const r = extractChips(value);
    if (r.chips.length) {
      let next = chips;
      for (const c of r.chips) if (!next.some((x) => x.key === c.key && x.value === c.value)) next = [...next, c];
      setChips(next);
    }
    setText(r.text);
    setAcClosed(false);
    setAcIndex(0);
  };

  const accept = (option: string) => {
    if (!completion) return;
    const r = acceptCompletion(chips, text, completion, option);
    setChips(r.chips);
    setText(r.text);
    input.current?.focus();
  };

  const open = async (hit: SearchHit | undefined) => {
    if (!hit) return;
    try {
      const line = targetLine(hit);
      await api.openInEditor(hit.repo, hit.path, line);
      toast("info", `Opened ${hit.path}:${line}`);
    } catch (e) {
      toast("error", errorMessage(e), "Choose your editor (or a custom command) in Settings.");
    }
  };

  const copy = async (hit: SearchHit | undefined) => {
    if (!hit) return;
    try {
      const link = await api.copyLink(hit.repo, hit.path, targetLine(hit));
      navigator.clipboard?.writeText(link).catch(() => {});
      toast("ok", "Link copied", link);
    } catch (e) {
      toast("error", errorMessage(e), errorHelp(e));
    }
  };

  const onKeyDown = (e: JSX.TargetedKeyboardEvent<HTMLElement>) => {
    const inInput = e.target === input.current;
    if (completion && inInput) {
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        const n = completion.options.length;
        setAcIndex((i) => (i + (e.key === "ArrowDown" ? 1 : n - 1)) % n);
        return;
      }
      if (e.key === "Tab" || e.key === "Enter") {
        e.preventDefault();
        accept(completion.options[Math.min(acIndex, completion.options.length - 1)]!);
        return;
      }
      if (e.key === "Escape") {
        e.preventDefault();
        setAcClosed(true);
        return;
      }
    }
    if (["ArrowDown", "ArrowUp", "PageDown", "PageUp"].includes(e.key) || (!inInput && (e.key === "Home" || e.key === "End"))) {
      e.preventDefault();
      setSelected((s) => navigate(s, ordered.length, e.key as NavKey));
      return;
    }
    if (e.key === "Enter") {
      e.preventDefault();
      void open(current);
      return;
    }
    if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "c" && current) {
      const el = input.current;
      const hasTextSelection = inInput ? el!.selectionStart !== el!.selectionEnd : !!window.getSelection()?.toString();
      if (!hasTextSelection) {
        e.preventDefault();
        void copy(current);
      }
      return;
    }
    if (e.key === "Backspace" && inInput && chips.length && input.current!.selectionStart === 0 && input.current!.selectionEnd === 0) {
      e.preventDefault();
      setChips(chips.slice(0, -1));
      return;
    }
    if (e.key === "Escape" && inInput && (text || chips.length)) {
      e.preventDefault();
      setText("");
      setChips([]);
    }
  };

  const noRepos = repos !== null && repos.length === 0;
  const files = groups.length;

  return (
    <div class="search-view" onKeyDown={onKeyDown}>
      <div class="searchbar">
        <div class="query-box" onClick={() => input.current?.focus()}>
          <Icon name="search" size={18} />
          {chips.map((c, i) => (
            <span class={`chip chip-${c.key.replace("-", "not-")}`} data-chip={`${c.key}:${c.value}`}>
              <span class="chip-key">{c.key}:</span>
              <span class="chip-value">{c.value}</span>
              <button class="chip-x" aria-label={`Remove ${c.key}:${c.value}`} tabIndex={-1} onClick={() => setChips(chips.filter((_, j) => j !== i))}>
                <Icon name="x" size={12} />
              </button>
            </span>
          ))}
          <input
            id="search-input"
            ref={input}
            value={text}
            onInput={(e) => onInput(e.currentTarget.value)}
            placeholder={chips.length ? "" : "Search code — words, \"phrases\", or a question. Filters: repo: lang: path: -path:"}
            spellcheck={false}
            autocomplete="off"
            aria-label="Search"
            aria-autocomplete="list"
            aria-expanded={!!completion}
            aria-controls="autocomplete"
          />
          {status.state === "loading" && <Spinner />}
          {completion && (
            <ul class="autocomplete" id="autocomplete" role="listbox">
              <li class="ac-head">{completion.key === "repo" ? "Repositories" : "Languages"}</li>
              {completion.options.map((o, i) => (
                <li
                  role="option"
                  aria-selected={i === acIndex}
                  class={i === acIndex ? "active" : ""}
                  onMouseDown={(e) => (e.preventDefault(), accept(o))}
                  onMouseEnter={() => setAcIndex(i)}
                >
                  <Icon name={completion.key === "repo" ? "repo" : "link"} size={13} />
                  {o}
                </li>
              ))}
              <li class="ac-foot">
                <Kbd>Tab</Kbd> accept · <Kbd>Esc</Kbd> close
              </li>
            </ul>
          )}
        </div>
        <div class="segmented" role="radiogroup" aria-label="Search mode">
          {(["hybrid", "lexical", "semantic"] as SearchMode[]).map((m) => (
            <button role="radio" aria-checked={mode === m} class={mode === m ? "on" : ""} onClick={() => setMode(m)}>
              {m[0]!.toUpperCase() + m.slice(1)}
            </button>
          ))}
        </div>
      </div>

      <div class="search-status" aria-live="polite">
        {status.state === "done" && (
          <>
            <b>{hits.length}</b> result{hits.length === 1 ? "" : "s"} in <b>{files}</b> file{files === 1 ? "" : "s"} · {status.ms} ms · {mode}
          </>
        )}
        {status.state === "loading" && "Searching…"}
        <span class="keys">
          <Kbd>↑</Kbd>
          <Kbd>↓</Kbd> move <Kbd>Enter</Kbd> open <Kbd>{isMac ? "⌘" : "Ctrl"} C</Kbd> copy link <Kbd>/</Kbd> search
        </span>
      </div>

      <div class={`search-body ${hits.length ? "" : "no-preview"}`}>
        <div class="results" role="listbox" aria-label="Results">
          {status.state === "error" && (
            <ErrorNote
              message={status.error!}
              hint={
                /semantic|embed|model/i.test(status.error!)
                  ? "Semantic search needs the embedding model: try Lexical mode, or check the model directory in the README."
                  : "Check the query syntax (repo: lang: path: -path: and \"quoted phrases\"), or try another mode."
              }
            />
          )}
          {status.state === "idle" &&
            (noRepos ? (
              <Empty icon="repo" title="Nothing to search yet">
                Add a GitHub repository or a local folder, and results appear here while it indexes.
                <div>
                  <button class="btn primary" onClick={goRepos}>
                    <Icon name="plus" /> Add repositories
                  </button>
                </div>
              </Empty>
            ) : (
              <Tips onExample={(q) => onInput(q)} />
            ))}
          {status.state === "done" && hits.length === 0 && (
            <Empty icon="search" title={`No results for “${status.query}”`}>
              {[chips.length ? "Remove a filter chip" : "", mode !== "hybrid" ? "switch to Hybrid" : "", "try other words"].filter(Boolean).join(", ").replace(/^./, (c) => c.toUpperCase())}
              {" "}— semantic search understands questions like “where are retries handled”.
            </Empty>
          )}
          {status.state === "done" && hits.length > 0 && weak && (
            <div class="no-strong-match" role="note">
              <Icon name="warn" />
              <div>
                <b>No strong match.</b> Nothing indexed clearly answers “{status.query}”; these are only the closest results.
                {mode !== "hybrid" ? " Try Hybrid, or other words." : " Try other words, or check that the code is in an indexed repository."}
              </div>
            </div>
          )}
          {groups.map((g) => (
            <section class="file-group">
              <header class="file-head">
                <span class="file-repo">{g.repo}</span>
                <span class="file-sep">/</span>
                <span class="file-path">{g.path}</span>
                <span class="badge lang">{g.language}</span>
                {g.hits.length > 1 && <span class="muted small">{g.hits.length} matches</span>}
              </header>
              {g.hits.map((hit, k) => {
                const idx = g.offset + k;
                const fb = foundBy(hit);
                return (
                  <div
                    class={`hit ${idx === selected ? "selected" : ""}`}
                    role="option"
                    aria-selected={idx === selected}
                    data-hit={idx}
                    onClick={() => (setSelected(idx), input.current?.focus({ preventScroll: true }))}
                    onDblClick={() => open(hit)}
                  >
                    <div class="hit-meta">
                      {hit.symbol && <span class="symbol">{hit.symbol}</span>}
                      <span class="kind">{hit.kind}</span>
                      <span class="lines">
                        L{hit.start_line}–{hit.end_line}
                      </span>
                      <span class={`found ${fb.label}`} title={fb.title}>
                        {fb.label}
                      </span>
                    </div>
                    <SnippetLines hit={hit} />
                  </div>
                );
              })}
            </section>
          ))}
        </div>
        {hits.length > 0 && <Preview hit={current} onOpen={() => open(current)} onCopy={() => copy(current)} />}
      </div>
    </div>
  );
}

export const MAX_SNIPPET_LINES = 10;

/** A snippet trimmed to a window of lines around its first match. */
export function snippetWindow(hit: SearchHit, max = MAX_SNIPPET_LINES): { from: number; to: number; total: number } {
  const total = hit.snippet.split("\n").length;
  if (total <= max) return { from: 0, to: total, total };
  const first = Math.min(...hit.highlights.map((h) => h.line), total);
  const from = Math.max(0, Math.min(first === total ? 0 : first - 2, total - max));
  return { from, to: from + max, total };
}

function SnippetLines({ hit }: { hit: SearchHit }) {
  // The file changed since it was indexed (the watcher re-indexes it shortly): its old
  // lines are gone, so say so instead of showing whatever is there now.
  if (hit.stale) return <div class="stale-snippet">Changed since it was indexed; re-indexing shows the new text.</div>;
  const lines = highlightSnippet(hit.snippet, hit.language, hit.highlights);
  const w = snippetWindow(hit);
  const hidden = w.total - (w.to - w.from);
  return (
    <>
      <CodeBlock lines={lines.slice(w.from, w.to)} firstLine={hit.snippet_start_line + w.from} />
      {hidden > 0 && <div class="more-lines">{hidden} more line{hidden === 1 ? "" : "s"} in the preview</div>}
    </>
  );
}

function Tips({ onExample }: { onExample: (q: string) => void }) {
  const examples = ["where do we retry failed requests ", "lang:rust parse args", "repo:", "path:src/ -path:tests/ config "];
  return (
    <div class="tips">
      <h3>Search across every repository in this profile</h3>
      <p class="muted">Words match code-aware tokens (parseArgs, parse_args). Plain questions work too: semantic search finds code by meaning.</p>
      <div class="examples">
        {examples.map((q) => (
          <button class="example" onClick={() => onExample(q)}>
            {q.trim() || q}
          </button>
        ))}
      </div>
      <table class="syntax">
        <tbody>
          <tr><td><code>"exact phrase"</code></td><td>must appear verbatim</td></tr>
          <tr><td><code>repo:NAME</code></td><td>only that repository (repeat for several)</td></tr>
          <tr><td><code>lang:rust</code></td><td>only that language</td></tr>
          <tr><td><code>path:src/</code> <code>path:*.rs</code></td><td>paths containing, or matching a glob</td></tr>
          <tr><td><code>-path:tests/</code></td><td>leave paths out</td></tr>
        </tbody>
      </table>
    </div>
  );
}

function Preview({ hit, onOpen, onCopy }: { hit: SearchHit | undefined; onOpen: () => void; onCopy: () => void }) {
  const [ctx, setCtx] = useState<{ key: string; data?: FileContext; error?: string } | null>(null);
  const key = hit ? `${hit.chunk_id}:${hit.repo}:${hit.path}:${hit.start_line}` : "";
  const body = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!hit) return setCtx(null);
    let live = true;
    const t = setTimeout(async () => {
      try {
        const span = hit.end_line - hit.start_line;
        const data = await api.fileContext(hit.repo, hit.path, hit.start_line, 12, span + 24);
        if (live) setCtx({ key, data });
      } catch (e) {
        if (live) setCtx({ key, error: errorMessage(e) });
      }
    }, 60);
    return () => {
      live = false;
      clearTimeout(t);
    };
  }, [key]);
  useEffect(() => {
    const first = body.current?.querySelector("tr.on");
    if (first && body.current) body.current.scrollTop = (first as HTMLElement).offsetTop - 60;
  }, [ctx?.key]);

  if (!hit) {
    return (
      <aside class="preview empty-preview">
        <span class="muted">Select a result to preview the surrounding code.</span>
      </aside>
    );
  }
  const lines =
    ctx?.key === key && ctx.data
      ? highlightSnippet(ctx.data.lines.join("\n"), hit.language, [])
      : null;
  return (
    <aside class="preview" aria-label="Preview">
      <div class="preview-head">
        <div class="preview-title">
          <span class="file-repo">{hit.repo}</span>
          <span class="file-path">
            {hit.path}:{targetLine(hit)}
          </span>
        </div>
        <div class="preview-actions">
          <button class="btn small" onClick={onCopy} title="Copy ferret:// link (Ctrl+C)">
            <Icon name="link" /> Copy link
          </button>
          <button class="btn small primary" onClick={onOpen} title="Open in editor (Enter)">
            <Icon name="external" /> Open
          </button>
        </div>
      </div>
      <div class="preview-body" ref={body}>
        {ctx?.key === key && ctx.error && <ErrorNote message={ctx.error} hint="The file may have changed or moved since it was indexed; re-index the repository." />}
        {lines ? <CodeBlock lines={lines} firstLine={ctx!.data!.start_line} active={[hit.start_line, hit.end_line]} /> : !ctx?.error && <div class="preview-loading"><Spinner /></div>}
      </div>
    </aside>
  );
}
