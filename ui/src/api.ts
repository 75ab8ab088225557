/**
 * Ferret IPC contract: the only module that talks to the Rust backend.
 *
 * Every type mirrors a Rust serde struct, field for field (snake_case). Command arguments are
 * passed to `invoke` in camelCase, as Tauri v2 converts them to the Rust snake_case parameter
 * names (`apiUrl` → `api_url`, `fullName` → `full_name`). A failing command rejects with a
 * plain string (the Rust error's Display); `errorMessage` turns any rejection into text.
 *
 * Commands (invoke name → args → result):
 *   profiles_list          → {}                                   → ProfilesList
 *   profile_login          → { apiUrl: string|null, token }       → LoginResult
 *   profile_create_local   → { id }                               → ProfileRecord
 *   profile_use            → { id }                               → ProfileRecord
 *   profile_logout         → {}                                   → boolean
 *   profile_delete         → { id }                               → DeleteResult
 *   profile_stats          → { id: string|null }  (null=current)  → ProfileStats
 *   github_repos           → {}                                   → GitHubRepo[]
 *   repos_list             → {}                                   → RepoInfo[]
 *   repo_add_local         → { path }                             → RepoInfo
 *   repo_add_github        → { fullName, branch: string|null }    → RepoInfo
 *   repo_remove            → { name }                             → void
 *   repo_set_paused        → { name, paused }                     → RepoInfo (resuming queues
 *                            an index)
 *   repo_index             → { name: string|null } (null=all)     → void
 *   repo_sync              → { name: string|null } (null=all)     → void
 *   index_pause | index_resume | index_cancel → {}                → void
 *   search                 → { query, mode, limit }               → SearchHit[]
 *   file_context           → { repo, path, line, before, after }  → FileContext
 *   open_in_editor         → { repo, path, line }                 → void
 *   copy_link              → { repo, path, line }                 → string (ferret://open?...);
 *                            the backend also puts it on the system clipboard (the UI's
 *                            navigator.clipboard write is best effort in a webview)
 *   settings_get           → {}                                   → Settings
 *   settings_set           → { settings }                         → void
 *   model_status           → {}                                   → ModelStatus
 *   model_use              → { id }                               → ModelStatus (a switch
 *                            queues a background re-embed; the old model serves meanwhile)
 *   pick_folder            → {}                                   → string|null (native dialog)
 *   ui_ready               → {}                                   → void; the page listens now:
 *                            links that arrived while it loaded are handled
 *   deep_link_follow       → { url }                              → void; follow a link the user
 *                            agreed to (switches to the profile it names)
 *
 * Events (listen):
 *   index-progress     IndexProgressEvent
 *   git-progress       GitProgressEvent
 *   jobs-changed       JobsChangedEvent
 *   deep-link-search   DeepLinkSearchEvent
 *   deep-link-confirm  DeepLinkConfirmEvent (a link names another profile: ask first)
 *   error              ErrorEvent
 *
 * Listening needs the `core:event:default` capability; the sign-in screen's token link is a
 * plain <a target="_blank"> (the shell should open external links in the browser).
 *
 * Times (`created_at`, `last_used_at`, `added_at`, `last_indexed_at`) are Unix seconds.
 */
import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";

// ---------------------------------------------------------------- profiles

export type ProfileKind = "github" | "local";
export type ProfileStatus = "active" | "read-only" | "paused";

export interface ProfileRecord {
  id: string;
  kind: ProfileKind;
  display_name: string;
  github_login: string | null;
  github_user_id: number | null;
  api_url: string | null;
  status: ProfileStatus;
  created_at: number;
  last_used_at: number | null;
}

export interface ProfilesList {
  profiles: ProfileRecord[];
  /** Id of the current profile; "" on a first run (nobody signed in or chose a profile yet). */
  current: string;
}

export interface GitHubUser {
  id: number;
  login: string;
  name: string | null;
}

export interface LoginResult {
  profile: ProfileRecord;
  user: GitHubUser;
  /** false when the token belonged to an existing profile (token replaced). */
  created: boolean;
}

export interface DeleteResult {
  profile: ProfileRecord;
  directory: string;
  bytes_removed: number;
  keychain_entry_removed: boolean;
}

export interface LimitUsage {
  name: "repos" | "chunks" | "bytes";
  used: number;
  limit: number;
  /** used / limit, 0..1 (may exceed 1 when over the limit). */
  fraction: number;
}

export interface ProfileStats {
  profile: ProfileRecord;
  repos: number;
  files: number;
  chunks: number;
  vectors: number;
  bytes_on_disk: number;
  queries_run: number;
  last_indexed_at: number | null;
  limits: LimitUsage[];
  warnings: string[];
  /** Whether the profile is loaded in the engine's pool. */
  open: boolean;
}

// ---------------------------------------------------------------- repositories

export interface GitHubRepo {
  full_name: string;
  owner: string;
  name: string;
  private: boolean;
  default_branch: string;
  size_kb: number;
  language: string | null;
  clone_url: string;
  html_url: string;
  pushed_at: string | null;
  estimated_files: number;
  estimated_chunks: number;
  /** Already added to the current profile. */
  added: boolean;
}

export interface RepoInfo {
  name: string;
  root: string;
  kind: "local" | "github";
  added_at: number;
  last_indexed_at: number | null;
  remote: string | null;
  branch: string | null;
  head: string | null;
  /** Not watched, fetched or indexed until resumed; still searched. */
  paused: boolean;
  files: number;
  chunks: number;
  embedded_chunks: number;
}

// ---------------------------------------------------------------- progress

export type ProgressPhase = "walking" | "chunking" | "embedding" | "reembedding" | "saving" | "done";

export interface Progress {
  phase: ProgressPhase;
  repo: string;
  files_done: number;
  files_total: number;
  chunks_written: number;
  embeddings_done: number;
  embeddings_total: number;
  elapsed_secs: number;
  /** The model being re-embedded for, during a model switch (phase "reembedding"). */
  model: string | null;
}

export type GitStage = "connecting" | "receiving" | "resolving" | "checking_out" | "done";

export interface GitProgress {
  stage: GitStage;
  received_objects: number;
  total_objects: number;
  indexed_deltas: number;
  total_deltas: number;
  received_bytes: number;
}

export interface IndexProgressEvent {
  repo: string | null;
  progress: Progress;
  overall: { repos_done: number; repos_total: number; percent: number };
}

export interface GitProgressEvent {
  repo: string;
  progress: GitProgress;
}

export interface JobsChangedEvent {
  running: boolean;
  paused: boolean;
  summary: string;
}

export interface DeepLinkSearchEvent {
  query: string;
  profile: string | null;
}

export interface DeepLinkConfirmEvent {
  url: string;
  /** What the link does: "search for “…”" or "open repo/path:line". */
  action: string;
  profile: string;
  profile_name: string;
  current: string;
  current_name: string;
}

export interface ErrorEvent {
  message: string;
}

// ---------------------------------------------------------------- search

export interface Highlight {
  /** 0-based line within `snippet`. */
  line: number;
  /** UTF-8 byte offsets within that line. */
  start: number;
  end: number;
}

export interface SearchHit {
  repo: string;
  path: string;
  start_line: number;
  end_line: number;
  language: string;
  symbol: string | null;
  kind: string;
  snippet: string;
  snippet_start_line: number;
  highlights: Highlight[];
  score: number;
  lexical_rank: number | null;
  semantic_rank: number | null;
  chunk_id: number;
}

export type SearchMode = "hybrid" | "lexical" | "semantic";

export interface FileContext {
  /** 1-based line number of `lines[0]`. */
  start_line: number;
  lines: string[];
}

// ---------------------------------------------------------------- settings

export type Editor = "vscode" | "jetbrains" | "vim" | "neovim" | "emacs" | "sublime" | "zed" | "custom";

export interface Settings {
  editor: Editor;
  /** Template with {path} and {line}; used when editor is "custom". */
  editor_command: string | null;
  excludes: string[];
  /** 0 = auto (half the cores). */
  index_threads: number;
  fetch_interval_mins: number;
  start_at_login: boolean;
}

// ---------------------------------------------------------------- embedding models

export interface ModelInfo {
  id: string;
  name: string;
  description: string;
  dims: number;
  max_tokens: number;
  max_windows: number;
  /** Its files are in the model directory. */
  installed: boolean;
  /** Measured by this profile's index runs; null until one ran. */
  chunks_per_sec: number | null;
}

export interface ModelSwitch {
  to: string;
  embedded: number;
  total: number;
}

export interface ModelStatus {
  active: string;
  switch: ModelSwitch | null;
  models: ModelInfo[];
}

// ---------------------------------------------------------------- commands

/** The text of a rejected command (Rust sends a string) or any other error. */
export function errorMessage(err: unknown): string {
  if (typeof err === "string") return err;
  if (err instanceof Error) return err.message;
  if (err && typeof err === "object" && "message" in err) return String((err as { message: unknown }).message);
  return String(err);
}

export const api = {
  profilesList: () => invoke<ProfilesList>("profiles_list"),
  profileLogin: (token: string, apiUrl: string | null) => invoke<LoginResult>("profile_login", { apiUrl, token }),
  profileCreateLocal: (id: string) => invoke<ProfileRecord>("profile_create_local", { id }),
  profileUse: (id: string) => invoke<ProfileRecord>("profile_use", { id }),
  profileLogout: () => invoke<boolean>("profile_logout"),
  profileDelete: (id: string) => invoke<DeleteResult>("profile_delete", { id }),
  profileStats: (id: string | null = null) => invoke<ProfileStats>("profile_stats", { id }),
  githubRepos: () => invoke<GitHubRepo[]>("github_repos"),
  reposList: () => invoke<RepoInfo[]>("repos_list"),
  repoAddLocal: (path: string) => invoke<RepoInfo>("repo_add_local", { path }),
  repoAddGithub: (fullName: string, branch: string | null = null) =>
    invoke<RepoInfo>("repo_add_github", { fullName, branch }),
  repoRemove: (name: string) => invoke<void>("repo_remove", { name }),
  repoSetPaused: (name: string, paused: boolean) => invoke<RepoInfo>("repo_set_paused", { name, paused }),
  repoIndex: (name: string | null = null) => invoke<void>("repo_index", { name }),
  repoSync: (name: string | null = null) => invoke<void>("repo_sync", { name }),
  indexPause: () => invoke<void>("index_pause"),
  indexResume: () => invoke<void>("index_resume"),
  indexCancel: () => invoke<void>("index_cancel"),
  search: (query: string, mode: SearchMode, limit: number) => invoke<SearchHit[]>("search", { query, mode, limit }),
  fileContext: (repo: string, path: string, line: number, before: number, after: number) =>
    invoke<FileContext>("file_context", { repo, path, line, before, after }),
  openInEditor: (repo: string, path: string, line: number) => invoke<void>("open_in_editor", { repo, path, line }),
  copyLink: (repo: string, path: string, line: number) => invoke<string>("copy_link", { repo, path, line }),
  settingsGet: () => invoke<Settings>("settings_get"),
  settingsSet: (settings: Settings) => invoke<void>("settings_set", { settings }),
  modelStatus: () => invoke<ModelStatus>("model_status"),
  modelUse: (id: string) => invoke<ModelStatus>("model_use", { id }),
  pickFolder: () => invoke<string | null>("pick_folder"),
  uiReady: () => invoke<void>("ui_ready"),
  deepLinkFollow: (url: string) => invoke<void>("deep_link_follow", { url }),
};

export interface EventMap {
  "index-progress": IndexProgressEvent;
  "git-progress": GitProgressEvent;
  "jobs-changed": JobsChangedEvent;
  "deep-link-search": DeepLinkSearchEvent;
  "deep-link-confirm": DeepLinkConfirmEvent;
  error: ErrorEvent;
}

/** Subscribes to a backend event; resolves to the unsubscribe function. */
export function on<K extends keyof EventMap>(event: K, handler: (payload: EventMap[K]) => void): Promise<UnlistenFn> {
  return listen<EventMap[K]>(event, (e) => handler(e.payload));
}
