/**
 * Ferret IPC contract: the only module that talks to the Rust backend.
 *
 * Every type comes from `generated/contract.ts`, generated from the Rust types (run
 * `scripts/gen-types.sh` after changing one; the test command fails while it is stale), so the
 * two sides cannot drift. Command arguments are passed to `invoke` in camelCase, as Tauri v2
 * converts them to the Rust snake_case parameter names (`apiUrl` → `api_url`). A failing
 * command rejects with an `ErrorReport` (`{kind, message}`): `errorMessage` gives the text,
 * `errorHelp` the advice for its kind.
 *
 * Commands (invoke name → args → result):
 *   profiles_list          → {}                                   → ProfilesList
 *   profile_login          → { apiUrl: string|null, token }       → LoginOutcome
 *   profile_create_local   → { id }                               → ProfileRecord
 *   profile_use            → { id }                               → ProfileRecord
 *   profile_logout         → {}                                   → boolean
 *   profile_delete         → { id }                               → DeleteReport
 *   profile_stats          → { id: string|null }  (null=current)  → ProfileStats
 *   github_repos           → {}                                   → GitHubRepoChoice[]
 *   repos_list             → {}                                   → RepoInfo[]
 *   repo_add_local         → { path }                             → RepoInfo
 *   repo_add_github        → { fullName, branch: string|null }    → RepoInfo
 *   repo_remove            → { name }                             → void
 *   repo_set_paused        → { name, paused }                     → RepoInfo (resuming queues
 *                            an index)
 *   repo_confirm           → { name }                             → RepoInfo (an imported
 *                            local folder is trusted from now on; queues an index)
 *   repo_index             → { name: string|null } (null=all)     → void
 *   repo_sync              → { name: string|null } (null=all)     → void
 *   index_pause | index_resume | index_cancel → {}                → void
 *   search                 → { query, mode, limit }               → SearchResults (hits best
 *                            first, and no_strong_match: nothing found answers the query)
 *   file_context           → { repo, path, line, before, after }  → FileContext
 *   open_in_editor         → { repo, path, line }                 → void
 *   copy_link              → { repo, path, line }                 → string (ferret://open?...);
 *                            the backend also puts it on the system clipboard (the UI's
 *                            navigator.clipboard write is best effort in a webview)
 *   settings_get           → {}                                   → Settings
 *   settings_set           → { settings }                         → void
 *   security_get           → {}                                   → SecuritySettings (editor
 *                            command, model dir, secret files, link grants)
 *   security_reset         → { reset: SecurityReset }             → SecuritySettings (one
 *                            setting back to its default, or a link grant revoked)
 *   about                  → {}                                   → About (version, model, dirs)
 *   model_status           → {}                                   → ModelStatus
 *   model_use              → { id }                               → ModelStatus (a switch
 *                            queues a background re-embed; the old model serves meanwhile)
 *   agent_setup            → {}                                   → AgentSetup (`ferret mcp` for
 *                            this profile and each coding agent's configuration)
 *   clipboard_write        → { text }                             → void
 *   profile_export         → { id }                               → ExportReport|null (save dialog;
 *                            null when cancelled)
 *   profile_import         → {}                                   → ImportReport|null (open dialog;
 *                            the restored profile becomes current)
 *   pick_folder            → {}                                   → string|null (native dialog)
 *   ui_ready               → {}                                   → void; the page listens now:
 *                            links that arrived while it loaded are handled
 *   deep_link_follow       → { url, alwaysAllow }                 → void; follow a link the user
 *                            agreed to (switches to the profile it names, opens the file;
 *                            alwaysAllow: links may open that repository's files unasked)
 *
 * Events (listen): `EVENTS` names them and `EventMap` gives each one's payload.
 *
 * Listening needs the `core:event:default` capability; the sign-in screen's token link is a
 * plain <a target="_blank"> (the shell should open external links in the browser).
 *
 * Times (`created_at`, `last_used_at`, `added_at`, `last_indexed_at`) are Unix seconds.
 */
import { invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";

import type { ErrorKind, ErrorReport, EventMap } from "./generated/contract";
import type {
  About,
  AgentSetup,
  DeleteReport,
  ExportReport,
  ImportReport, FileContext, GitHubRepoChoice, LoginOutcome, ModelStatus, ProfileRecord, ProfileStats,
  ProfilesList, RepoInfo, SearchMode, SearchResults, SecurityReset, SecuritySettings, Settings,
} from "./generated/contract";

export * from "./generated/contract";

// ---------------------------------------------------------------- commands

function isErrorReport(err: unknown): err is ErrorReport {
  return !!err && typeof err === "object" && "kind" in err && "message" in err;
}

/** The text of a rejected command (an `ErrorReport`) or of any other error. */
export function errorMessage(err: unknown): string {
  if (typeof err === "string") return err;
  if (err instanceof Error) return err.message;
  if (err && typeof err === "object" && "message" in err) return String((err as { message: unknown }).message);
  return String(err);
}

/** The kind of a rejected command's error, when the backend sent one. */
export function errorKind(err: unknown): ErrorKind | null {
  return isErrorReport(err) ? err.kind : null;
}

/** What the user can do about an error of this kind (the message says what went wrong). */
export const ERROR_HELP: Partial<Record<ErrorKind, string>> = {
  disk_full: "Free some disk space, then try again: nothing indexed so far was lost.",
  auth: "Sign in again with a new token (Contents: read and Metadata: read is enough).",
  rate_limited: "GitHub's rate limit resets within the hour; Ferret keeps working with what it has.",
  network: "Check your network connection (and the API URL for GitHub Enterprise), then try again.",
  corrupt: "A file of this profile is damaged; the message names it and how to rebuild it.",
  busy: "Another Ferret process is busy with this profile; try again in a moment.",
  limit: "Raise the profile's limits in Settings, or remove a repository first.",
  model: "Run scripts/setup.sh to install the model files, or pick another model in Settings.",
  keychain: "Ferret keeps tokens in the system keychain: unlock it (or start one) and try again.",
};

/** Advice for a rejected command's error kind, if there is any beyond its message. */
export function errorHelp(err: unknown): string | undefined {
  const kind = errorKind(err);
  return kind ? ERROR_HELP[kind] : undefined;
}

export const api = {
  profilesList: () => invoke<ProfilesList>("profiles_list"),
  profileLogin: (token: string, apiUrl: string | null) => invoke<LoginOutcome>("profile_login", { apiUrl, token }),
  profileCreateLocal: (id: string) => invoke<ProfileRecord>("profile_create_local", { id }),
  profileUse: (id: string) => invoke<ProfileRecord>("profile_use", { id }),
  profileLogout: () => invoke<boolean>("profile_logout"),
  profileDelete: (id: string) => invoke<DeleteReport>("profile_delete", { id }),
  profileStats: (id: string | null = null) => invoke<ProfileStats>("profile_stats", { id }),
  githubRepos: () => invoke<GitHubRepoChoice[]>("github_repos"),
  reposList: () => invoke<RepoInfo[]>("repos_list"),
  repoAddLocal: (path: string) => invoke<RepoInfo>("repo_add_local", { path }),
  repoAddGithub: (fullName: string, branch: string | null = null) =>
    invoke<RepoInfo>("repo_add_github", { fullName, branch }),
  repoRemove: (name: string) => invoke<void>("repo_remove", { name }),
  repoSetPaused: (name: string, paused: boolean) => invoke<RepoInfo>("repo_set_paused", { name, paused }),
  repoConfirm: (name: string) => invoke<RepoInfo>("repo_confirm", { name }),
  repoIndex: (name: string | null = null) => invoke<void>("repo_index", { name }),
  repoSync: (name: string | null = null) => invoke<void>("repo_sync", { name }),
  indexPause: () => invoke<void>("index_pause"),
  indexResume: () => invoke<void>("index_resume"),
  indexCancel: () => invoke<void>("index_cancel"),
  search: (query: string, mode: SearchMode, limit: number) => invoke<SearchResults>("search", { query, mode, limit }),
  fileContext: (repo: string, path: string, line: number, before: number, after: number) =>
    invoke<FileContext>("file_context", { repo, path, line, before, after }),
  openInEditor: (repo: string, path: string, line: number) => invoke<void>("open_in_editor", { repo, path, line }),
  copyLink: (repo: string, path: string, line: number) => invoke<string>("copy_link", { repo, path, line }),
  settingsGet: () => invoke<Settings>("settings_get"),
  settingsSet: (settings: Settings) => invoke<void>("settings_set", { settings }),
  securityGet: () => invoke<SecuritySettings>("security_get"),
  securityReset: (reset: SecurityReset) => invoke<SecuritySettings>("security_reset", { reset }),
  modelStatus: () => invoke<ModelStatus>("model_status"),
  modelUse: (id: string) => invoke<ModelStatus>("model_use", { id }),
  agentSetup: () => invoke<AgentSetup>("agent_setup"),
  clipboardWrite: (text: string) => invoke<void>("clipboard_write", { text }),
  profileExport: (id: string) => invoke<ExportReport | null>("profile_export", { id }),
  profileImport: () => invoke<ImportReport | null>("profile_import"),
  pickFolder: () => invoke<string | null>("pick_folder"),
  uiReady: () => invoke<void>("ui_ready"),
  about: () => invoke<About>("about"),
  deepLinkFollow: (url: string, alwaysAllow = false) => invoke<void>("deep_link_follow", { url, alwaysAllow }),
};

/** Subscribes to a backend event; resolves to the unsubscribe function. */
export function on<K extends keyof EventMap>(event: K, handler: (payload: EventMap[K]) => void): Promise<UnlistenFn> {
  return listen<EventMap[K]>(event, (e) => handler(e.payload));
}
