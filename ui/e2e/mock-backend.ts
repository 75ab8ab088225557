/**
 * A fake Ferret backend for browser tests, mocked at the Tauri IPC boundary only: it installs
 * `window.__TAURI_INTERNALS__` through `@tauri-apps/api/mocks` (`mockIPC` with event mocking),
 * so the app's real `invoke`/`listen` calls run unchanged. Bundled to an IIFE and injected with
 * Playwright's `addInitScript`. Tests drive it through `window.__ferret`.
 */
import { mockIPC } from "@tauri-apps/api/mocks";
import type {
  AgentSetup, ErrorKind, ExportReport, ImportReport, ErrorReport, FileContext, GitHubRepoChoice, LinkGrant, ModelStatus, ProfileRecord, ProfileStats, RepoInfo, SearchHit, SearchResults,
  SecurityReset, SecuritySettings, Settings,
} from "../src/api";

declare global {
  interface Window {
    __FERRET_SCENARIO__?: "fresh" | "signed-in";
    __ferret: {
      emit: (event: string, payload: unknown) => Promise<void>;
      calls: { cmd: string; args: Record<string, unknown> }[];
      state: typeof state;
    };
  }
}

const NOW = Math.floor(Date.now() / 1000);

/** A failed command, as the real backend rejects it. */
function fail(kind: ErrorKind, message: string): ErrorReport {
  return { kind, message };
}

const alice: ProfileRecord = {
  id: "gh-5123", kind: "github", display_name: "Alice Moreau", github_login: "alice-m", github_user_id: 5123,
  api_url: null, status: "active", created_at: NOW - 86400 * 30, last_used_at: NOW - 60,
};
const work: ProfileRecord = {
  id: "work", kind: "local", display_name: "work", github_login: null, github_user_id: null,
  api_url: null, status: "active", created_at: NOW - 86400 * 5, last_used_at: NOW - 3600,
};

const reposByProfile: Record<string, RepoInfo[]> = {
  "gh-5123": [
    { name: "alice-m/ferret", root: "/home/alice/.local/share/ferret/user_data/gh-5123/repos/alice-m/ferret", kind: "github", added_at: NOW - 86400 * 20, last_indexed_at: NOW - 720, remote: "alice-m/ferret", branch: "main", head: "9ccddb5e1f", paused: false, needs_confirmation: false, files: 214, chunks: 3180, embedded_chunks: 3180 },
    { name: "BurntSushi/ripgrep", root: "/home/alice/.local/share/ferret/user_data/gh-5123/repos/BurntSushi/ripgrep", kind: "github", added_at: NOW - 86400 * 9, last_indexed_at: NOW - 86400 * 2, remote: "BurntSushi/ripgrep", branch: "master", head: "4a4b5c1d2e", paused: false, needs_confirmation: false, files: 226, chunks: 7118, embedded_chunks: 4626 },
    { name: "notes", root: "/home/alice/src/notes", kind: "local", added_at: NOW - 86400 * 3, last_indexed_at: NOW - 3 * 3600, remote: null, branch: "main", head: "e41d0aa", paused: false, needs_confirmation: false, files: 58, chunks: 402, embedded_chunks: 402 },
  ],
  work: [],
};

const github: GitHubRepoChoice[] = [
  gh("alice-m", "ferret", false, "Rust", 4200, 214, 3180, true, 0.2),
  gh("BurntSushi", "ripgrep", false, "Rust", 6900, 226, 7118, true, 48),
  gh("alice-m", "billing-service", true, "Go", 12800, 640, 9420, false, 3),
  gh("alice-m", "dotfiles", false, "Shell", 160, 42, 180, false, 120),
  gh("acme-corp", "web-console", true, "TypeScript", 38100, 1820, 24100, false, 1),
  gh("acme-corp", "ml-pipeline", true, "Python", 9100, 380, 5200, false, 14),
  gh("alice-m", "advent-of-code", false, "Rust", 820, 96, 610, false, 400),
];

function gh(owner: string, name: string, priv: boolean, language: string, size_kb: number, files: number, chunks: number, added: boolean, daysAgo: number): GitHubRepoChoice {
  return {
    full_name: `${owner}/${name}`, owner, name, private: priv, default_branch: "main", size_kb, language,
    clone_url: `https://github.com/${owner}/${name}.git`, html_url: `https://github.com/${owner}/${name}`,
    pushed_at: new Date((NOW - daysAgo * 86400) * 1000).toISOString(), estimated_files: files, estimated_chunks: chunks, added,
  };
}

const FILES: Record<string, { language: string; lines: string[] }> = {
  "alice-m/ferret:crates/engine/src/search.rs": {
    language: "rust",
    lines: `use std::collections::HashMap;

use crate::query::Query;
use crate::store::Store;

/// Reciprocal rank fusion constant (Cormack et al.).
const RRF_K: f64 = 60.0;

/// Fuses the lexical and semantic rankings into one list.
pub fn fuse(lexical: &[ChunkId], semantic: &[ChunkId], limit: usize) -> Vec<(ChunkId, f64)> {
    let mut scores: HashMap<ChunkId, f64> = HashMap::new();
    for (rank, id) in lexical.iter().enumerate() {
        *scores.entry(*id).or_default() += 1.0 / (RRF_K + rank as f64 + 1.0);
    }
    for (rank, id) in semantic.iter().enumerate() {
        *scores.entry(*id).or_default() += 1.0 / (RRF_K + rank as f64 + 1.0);
    }
    let mut fused: Vec<_> = scores.into_iter().collect();
    fused.sort_by(|a, b| b.1.total_cmp(&a.1));
    fused.truncate(limit);
    fused
}

/// Runs a hybrid search: filters first, then both rankings, then fusion.
pub fn search(store: &Store, query: &Query, limit: usize) -> Result<Vec<SearchHit>> {
    let filter = store.filter_ids(&query.filters)?;
    let lexical = store.bm25(&query.text, &filter, limit * 4)?;
    let semantic = store.nearest(&query.embedding()?, &filter, limit * 4)?;
    let fused = fuse(&lexical, &semantic, limit);
    store.hits(&fused, &query.terms)
}`.split("\n"),
  },
  "alice-m/ferret:crates/engine/src/index.rs": {
    language: "rust",
    lines: `impl Indexer {
    /// Retries a failed embedding batch with exponential backoff.
    fn embed_with_retry(&mut self, batch: &[Chunk]) -> Result<Vec<Vec<f32>>> {
        let mut delay = Duration::from_millis(50);
        for attempt in 0..MAX_RETRIES {
            match self.model.embed(batch) {
                Ok(vectors) => return Ok(vectors),
                Err(e) if attempt + 1 < MAX_RETRIES => {
                    tracing::warn!("embedding failed ({e}), retrying in {delay:?}");
                    std::thread::sleep(delay);
                    delay *= 2;
                }
                Err(e) => return Err(e.into()),
            }
        }
        unreachable!()
    }
}`.split("\n"),
  },
  "BurntSushi/ripgrep:crates/core/flags/parse.rs": {
    language: "rust",
    lines: `/// Parse low level arguments from the CLI into a \`LowArgs\`.
pub(crate) fn parse_low() -> ParseResult<LowArgs> {
    if let Err(err) = crate::logger::Logger::init() {
        let err = anyhow::anyhow!("failed to initialize logger: {err}");
        return ParseResult::Err(err);
    }
    let parser = Parser::new();
    let mut low = LowArgs::default();
    if let Err(err) = parser.parse(std::env::args_os().skip(1), &mut low) {
        return ParseResult::Err(err);
    }
    ParseResult::Ok(low)
}`.split("\n"),
  },
  "alice-m/ferret:ui/src/lib/query.ts": {
    language: "typescript",
    lines: `/** Parses a whole query into chips and the remaining free text. */
export function parseQuery(query: string): { chips: Chip[]; text: string } {
  const chips: Chip[] = [];
  const rest: string[] = [];
  for (const t of tokenize(query)) {
    const chip = tokenToChip(t); // "repo:x" -> { key: "repo", value: "x" }
    if (chip) chips.push(chip);
    else rest.push(t);
  }
  return { chips, text: rest.join(" ") };
}`.split("\n"),
  },
  "notes:scripts/retry.py": {
    language: "python",
    lines: `import time


def retry(fn, attempts=3, delay=0.5):
    """Call fn, retrying failed http requests with backoff."""
    for attempt in range(attempts):
        try:
            return fn()
        except ConnectionError as err:  # <b>not</b> HTML
            if attempt == attempts - 1:
                raise
            time.sleep(delay * 2 ** attempt)`.split("\n"),
  },
};

interface Doc { repo: string; path: string; start: number; end: number; symbol: string | null; kind: string; id: number; words: string }
const DOCS: Doc[] = [
  { repo: "alice-m/ferret", path: "crates/engine/src/search.rs", start: 9, end: 22, symbol: "fuse", kind: "function", id: 11, words: "fuse rank fusion lexical semantic rrf score" },
  { repo: "alice-m/ferret", path: "crates/engine/src/search.rs", start: 24, end: 31, symbol: "search", kind: "function", id: 12, words: "search hybrid query filter bm25 semantic" },
  { repo: "alice-m/ferret", path: "crates/engine/src/index.rs", start: 2, end: 17, symbol: "Indexer::embed_with_retry", kind: "method", id: 21, words: "retry embed failed backoff batch" },
  { repo: "BurntSushi/ripgrep", path: "crates/core/flags/parse.rs", start: 1, end: 13, symbol: "parse_low", kind: "function", id: 31, words: "parse args arguments cli flags" },
  { repo: "alice-m/ferret", path: "ui/src/lib/query.ts", start: 1, end: 11, symbol: "parseQuery", kind: "function", id: 41, words: "parse query chips repo tokenize" },
  { repo: "notes", path: "scripts/retry.py", start: 4, end: 12, symbol: "retry", kind: "function", id: 51, words: "retry failed http requests backoff" },
];

const enc = new TextEncoder();

function hitFor(d: Doc, terms: string[], rank: number, mode: string): SearchHit {
  const file = FILES[`${d.repo}:${d.path}`]!;
  const lines = file.lines.slice(d.start - 1, d.end);
  const highlights: SearchHit["highlights"] = [];
  lines.forEach((line, i) => {
    const lower = line.toLowerCase();
    for (const t of terms) {
      let at = lower.indexOf(t);
      while (t && at >= 0) {
        const start = enc.encode(line.slice(0, at)).length;
        highlights.push({ line: i, start, end: start + enc.encode(line.slice(at, at + t.length)).length });
        at = lower.indexOf(t, at + t.length);
      }
    }
  });
  const lexical = mode !== "semantic" && terms.some((t) => d.words.includes(t)) ? rank + 1 : null;
  const semantic = mode !== "lexical" ? rank + 2 : null;
  return {
    repo: d.repo, path: d.path, start_line: d.start, end_line: d.end, language: file.language, symbol: d.symbol, kind: d.kind,
    snippet: lines.join("\n"), snippet_start_line: d.start, highlights, score: 0.033 - rank * 0.002,
    lexical_rank: lexical, semantic_rank: semantic, chunk_id: d.id, stale: false, signals: [],
  };
}

const state = {
  profiles: [] as ProfileRecord[],
  current: "",
  settings: {
    editor: "vscode", editor_command: null, excludes: ["vendor/", "*.min.js", "target/"], index_threads: 0, fetch_interval_mins: 30, start_at_login: true,
  } as Settings,
  /** The security settings other than the editor's (those are in `settings`). */
  security: { model_dir: null as string | null, index_secret_files: false, link_grants: [] as LinkGrant[] },
  searchDelay: 20,
  model: {
    active: "all-minilm-l6-v2-int8",
    switch: null,
    models: [
      {
        id: "all-minilm-l6-v2-int8-int8mm", name: "MiniLM-L6 (int8), int8 arithmetic", dims: 384, max_tokens: 128, max_windows: 1,
        description: "all-MiniLM-L6-v2 quantised to int8 and multiplied in int8: about 1.6x faster to index than the f32 version and half its memory. The default.",
        installed: true, chunks_per_sec: null,
      },
      {
        id: "all-minilm-l6-v2-int8", name: "MiniLM-L6 (int8), chunk beginnings", dims: 384, max_tokens: 128, max_windows: 1,
        description: "all-MiniLM-L6-v2 quantised to int8, computed in f32; reads the first 128 tokens of each chunk.",
        installed: true, chunks_per_sec: 41.3,
      },
      {
        id: "all-minilm-l6-v2-int8-w4", name: "MiniLM-L6 (int8), whole definitions", dims: 384, max_tokens: 128, max_windows: 4,
        description: "The same model reading each chunk in up to 4 windows of 128 tokens.",
        installed: true, chunks_per_sec: null,
      },
    ],
  } as ModelStatus,
};

function install() {
  if (window.__FERRET_SCENARIO__ !== "fresh") {
    state.profiles = [alice, work];
    state.current = alice.id;
  } else {
    // A first run, as the real backend reports it: the built-in profile exists, none chosen.
    state.profiles = [{ ...work, id: "default", display_name: "default", created_at: NOW }];
  }
  const calls: { cmd: string; args: Record<string, unknown> }[] = [];
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const repos = () => reposByProfile[state.current] ?? (reposByProfile[state.current] = []);
  const securityNow = (): SecuritySettings => ({ editor: state.settings.editor, editor_command: state.settings.editor_command, ...state.security });

  mockIPC(async (cmd, raw) => {
    const args = (raw ?? {}) as Record<string, any>;
    calls.push({ cmd, args: cmd === "profile_login" ? { ...args, token: "<redacted>" } : args });
    switch (cmd) {
      case "profiles_list":
        return { profiles: state.profiles, current: state.current };
      case "profile_login": {
        await sleep(150);
        if (!String(args.token).startsWith("github_pat_")) {
          throw fail("auth", "token rejected by GitHub (401): create a fine-grained read-only token with Contents: read and Metadata: read");
        }
        const p: ProfileRecord = { id: "gh-583231", kind: "github", display_name: "The Octocat", github_login: "octocat", github_user_id: 583231, api_url: args.apiUrl ?? null, status: "active", created_at: NOW, last_used_at: NOW };
        state.profiles = [...state.profiles, p];
        state.current = p.id;
        reposByProfile[p.id] = [];
        return { profile: p, user: { id: 583231, login: "octocat", name: "The Octocat" }, created: true };
      }
      case "profile_create_local": {
        if (state.profiles.some((p) => p.id === args.id)) throw fail("invalid_input", `A profile named “${args.id}” already exists.`);
        const p: ProfileRecord = { ...work, id: args.id, display_name: args.id, created_at: NOW };
        state.profiles = [...state.profiles, p];
        state.current = p.id;
        return p;
      }
      case "profile_use": {
        const p = state.profiles.find((x) => x.id === args.id);
        if (!p) throw fail("not_found", `No profile “${args.id}”.`);
        state.current = p.id;
        return p;
      }
      case "profile_logout":
        return true;
      case "profile_delete": {
        const p = state.profiles.find((x) => x.id === args.id)!;
        state.profiles = state.profiles.filter((x) => x.id !== args.id);
        if (state.current === args.id) state.current = state.profiles[0]?.id ?? "";
        return { profile: p, directory: `/home/alice/.local/share/ferret/user_data/${p.id}`, bytes_removed: 48_300_000, keychain_entry_removed: p.kind === "github" };
      }
      case "profile_stats": {
        const id = args.id ?? state.current;
        const rs = reposByProfile[id] ?? [];
        const chunks = rs.reduce((a, r) => a + r.chunks, 0);
        const stats: ProfileStats = {
          profile: state.profiles.find((p) => p.id === id)!, repos: rs.length, files: rs.reduce((a, r) => a + r.files, 0), chunks,
          vectors: rs.reduce((a, r) => a + r.embedded_chunks, 0), bytes_on_disk: 412_000_000, queries_run: 1288, last_indexed_at: NOW - 720,
          limits: [
            { name: "repos", used: rs.length, limit: 50, fraction: rs.length / 50 },
            { name: "chunks", used: chunks, limit: 12_000, fraction: chunks / 12_000 },
            { name: "bytes", used: 412_000_000, limit: 2_000_000_000, fraction: 0.206 },
          ],
          warnings: chunks / 12_000 >= 0.8 ? ["Chunks are at " + Math.round((chunks / 12_000) * 100) + "% of this profile's limit."] : [],
          open: true,
        };
        return stats;
      }
      case "github_repos":
        await sleep(80);
        return github.map((g) => ({ ...g, added: repos().some((r) => r.name === g.full_name) }));
      case "repos_list":
        return repos();
      case "repo_add_github": {
        const g = github.find((x) => x.full_name === args.fullName)!;
        const r: RepoInfo = { name: g.full_name, root: `/home/alice/.local/share/ferret/user_data/${state.current}/repos/${g.full_name}`, kind: "github", added_at: NOW, last_indexed_at: null, remote: g.full_name, branch: args.branch ?? g.default_branch, head: null, paused: false, needs_confirmation: false, files: 0, chunks: 0, embedded_chunks: 0 };
        repos().push(r);
        return r;
      }
      case "pick_folder":
        return "/home/alice/src/side-project";
      case "repo_add_local": {
        const r: RepoInfo = { name: "side-project", root: args.path, kind: "local", added_at: NOW, last_indexed_at: null, remote: null, branch: null, head: null, paused: false, needs_confirmation: false, files: 0, chunks: 0, embedded_chunks: 0 };
        repos().push(r);
        return r;
      }
      case "repo_set_paused": {
        const r = repos().find((x) => x.name === args.name)!;
        r.paused = args.paused;
        return r;
      }
      case "repo_remove":
        reposByProfile[state.current] = repos().filter((r) => r.name !== args.name);
        return null;
      case "repo_index": case "repo_sync": case "index_pause": case "index_resume": case "index_cancel":
        return null;
      case "search": {
        await sleep(String(args.query).includes("slowquery") ? 700 : state.searchDelay);
        const q = String(args.query);
        const repoFilters = [...q.matchAll(/(?:^|\s)repo:(\S+)/g)].map((m) => m[1]);
        const langFilters = [...q.matchAll(/(?:^|\s)lang:(\S+)/g)].map((m) => m[1]);
        const terms = q.replace(/(?:^|\s)-?\w+:\S+/g, " ").toLowerCase().split(/\W+/).filter((t) => t.length > 2);
        const matches = (d: Doc, t: string) => d.words.includes(t) || !!d.symbol?.toLowerCase().includes(t);
        const found = DOCS.filter((d) => !repoFilters.length || repoFilters.includes(d.repo))
          .filter((d) => !langFilters.length || langFilters.includes(FILES[`${d.repo}:${d.path}`]!.language))
          .filter((d) => terms.some((t) => matches(d, t)));
        // As the engine's flag, roughly: no hit holds a third of the query's words.
        const best = Math.max(0, ...found.map((d) => terms.filter((t) => matches(d, t)).length));
        const answer: SearchResults = {
          results: found.map((d, i) => hitFor(d, terms, i, args.mode)),
          no_strong_match: best * 3 < terms.length,
        };
        return answer;
      }
      case "file_context": {
        const f = FILES[`${args.repo}:${args.path}`];
        if (!f) throw fail("not_found", `${args.path} is no longer in ${args.repo}.`);
        const start = Math.max(1, args.line - args.before);
        const ctx: FileContext = { start_line: start, lines: f.lines.slice(start - 1, args.line + args.after) };
        return ctx;
      }
      case "open_in_editor":
        return null;
      case "copy_link":
        return `ferret://open?profile=${state.current}&repo=${encodeURIComponent(args.repo)}&path=${encodeURIComponent(args.path)}&line=${args.line}`;
      case "settings_get":
        return state.settings;
      case "settings_set":
        state.settings = args.settings;
        return null;
      case "security_get":
        return securityNow();
      case "security_reset": {
        const reset = args.reset as SecurityReset;
        switch (reset.setting) {
          case "editor_command":
            state.settings = { ...state.settings, editor_command: null, editor: state.settings.editor === "custom" ? "vscode" : state.settings.editor };
            break;
          case "model_dir":
            state.security.model_dir = null;
            break;
          case "index_secret_files":
            state.security.index_secret_files = false;
            break;
          case "link_grant": {
            const left = state.security.link_grants.filter((g) => g.repo_id !== reset.repo_id);
            if (left.length === state.security.link_grants.length) throw fail("not_found", `repository ${reset.repo_id} has no "always allow" for links`);
            state.security.link_grants = left;
            break;
          }
          case "all_link_grants":
            state.security.link_grants = [];
            break;
        }
        return securityNow();
      }
      case "about":
        return {
          version: "0.1.0",
          model: "all-minilm-l6-v2-int8",
          onnxruntime: "1.31.1",
          model_dir: "/usr/lib/Ferret/models",
          model_dir_source: "bundled",
          data_dir: "/home/octo/.local/share/ferret",
        };
      case "model_status": {
        // A switch in progress moves on by a third of the chunks per poll, then swaps.
        const sw = state.model.switch;
        if (sw) {
          sw.embedded = Math.min(sw.total, sw.embedded + Math.ceil(sw.total / 3));
          if (sw.embedded >= sw.total) state.model = { ...state.model, active: sw.to, switch: null };
        }
        return state.model;
      }
      case "model_use":
        state.model = {
          ...state.model,
          switch: args.id === state.model.active ? null : { to: String(args.id), embedded: 0, total: 1200 },
        };
        return state.model;
      case "agent_setup": {
        const exe = "/usr/bin/ferret";
        const args = ["mcp", "--profile", state.current];
        const json = (v: unknown) => JSON.stringify(v, null, 2) + "\n";
        return {
          command: [exe, ...args].join(" "),
          configs: [
            { client: "claude-code", name: "Claude Code", place: "run in a terminal", text: `claude mcp add ferret -- ${exe} ${args.join(" ")}\n` },
            { client: "cursor", name: "Cursor", place: "~/.cursor/mcp.json", text: json({ mcpServers: { ferret: { command: exe, args } } }) },
            { client: "vscode", name: "VS Code", place: ".vscode/mcp.json in the workspace", text: json({ servers: { ferret: { type: "stdio", command: exe, args } } }) },
            { client: "zed", name: "Zed", place: "Zed's settings.json", text: json({ context_servers: { ferret: { source: "custom", command: exe, args, env: {} } } }) },
          ],
        } satisfies AgentSetup;
      }
      case "clipboard_write":
        return null;
      case "profile_export":
        return { profile: args.id, file: `/home/alice/${args.id}.ferret.tar.gz`, bytes: 48_200_000, repos: 3 } satisfies ExportReport;
      case "profile_import": {
        const restored: ProfileRecord = { ...work, id: "work-restored", display_name: "work-restored" };
        state.profiles.push(restored);
        state.current = restored.id;
        return {
          profile: restored, repos: 2, local_repos_to_confirm: [], missing_local_repos: ["notes"], clones_to_restore: [], needs_sign_in: false, replaced: false,
          settings_reset_for_safety: [], settings_reset_as_invalid: [],
        } satisfies ImportReport;
      }
      case "ui_ready":
        return null;
      case "deep_link_follow": {
        const wanted = new URL(String(args.url).replace(/^ferret:/, "http:")).searchParams.get("profile");
        if (wanted) state.current = wanted;
        return null;
      }
    }
    throw fail("invalid_input", `mock backend: unknown command ${cmd}`);
  }, { shouldMockEvents: true });

  window.__ferret = {
    calls,
    state,
    emit: async (event, payload) => {
      await (window as any).__TAURI_INTERNALS__.invoke("plugin:event|emit", { event, payload });
    },
  };
}

install();
