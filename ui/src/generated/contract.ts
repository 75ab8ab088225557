// Generated from the Rust types by `scripts/gen-types.sh` (ferret-engine's
// `contract::typescript`). Do not edit: change the Rust type and regenerate; the test
// command fails while this file is stale.

/**
 * What kind of failure an [`Error`] is, as the UI and scripts see it (`snake_case` in
 * JSON). Stable: new kinds may be added, existing names never change meaning.
 */
export type ErrorKind = "disk_full" | "refused" | "cancelled" | "interrupted" | "not_found" | "invalid_input" | "auth" | "rate_limited" | "network" | "corrupt" | "busy" | "limit" | "model" | "keychain" | "git" | "io";

/**
 * An error as the desktop UI receives it from a failed command: the kind to act on and
 * the message to show.
 */
export type ErrorReport = { kind: ErrorKind, message: string, };

/**
 * Who a profile belongs to.
 */
export type ProfileKind = "github" | "local";

/**
 * What a profile may do right now. Enforced by the engine, not the shells.
 */
export type ProfileStatus = "active" | "read-only" | "paused";

/**
 * One row of the registry.
 */
export type ProfileRecord = { id: string, kind: ProfileKind, display_name: string, github_login: string | null, github_user_id: number | null, api_url: string | null, status: ProfileStatus, created_at: number, last_used_at: number | null, };

/**
 * `profiles_list`: every profile and the current one.
 */
export type ProfilesList = { profiles: Array<ProfileRecord>, 
/**
 * Id of the current profile; "" on a first run (nobody signed in or chose one yet).
 */
current: string, };

/**
 * The account a token belongs to (`GET /user`).
 */
export type GitHubUser = { id: number, login: string, name: string | null, };

/**
 * The result of `login`.
 */
export type LoginOutcome = { profile: ProfileRecord, user: GitHubUser, 
/**
 * False when the account already had a profile (its token was replaced).
 */
created: boolean, };

/**
 * What `delete` removed.
 */
export type DeleteReport = { 
/**
 * The profile as it was before deletion.
 */
profile: ProfileRecord, directory: string, bytes_removed: number, keychain_entry_removed: boolean, };

/**
 * One limit with its usage, for stats and the UI's usage bars.
 */
export type LimitUsage = { name: string, used: number, limit: number, fraction: number, };

/**
 * One profile's figures.
 */
export type ProfileStats = { profile: ProfileRecord, repos: number, files: number, chunks: number, vectors: number, bytes_on_disk: number, queries_run: number, last_indexed_at: number | null, limits: Array<LimitUsage>, warnings: Array<string>, 
/**
 * Whether the profile is open in this process's pool right now.
 */
open: boolean, };

/**
 * One repository as Ferret needs it.
 *
 * Deserialises from GitHub's repository JSON (`owner.login`, `size`, …) and also from its own
 * serialised form (`owner` as a string, `size_kb`), so it can be cached as JSON.
 */
export type GitHubRepo = { full_name: string, owner: string, name: string, private: boolean, default_branch: string, 
/**
 * GitHub's `size`: the repository's size on GitHub's disk in KiB (packed, with history).
 */
size_kb: number, language: string | null, clone_url: string, html_url: string, pushed_at: string | null, };

/**
 * A repository the user may add: what GitHub says about it, whether the profile holds
 * it already, and a guess at the work indexing it takes. The CLI's `github repos` and the
 * app's repository picker show exactly this.
 */
export type GitHubRepoChoice = { estimated_files: number, estimated_chunks: number, 
/**
 * The profile already has it (as `OWNER/NAME`).
 */
added: boolean, full_name: string, owner: string, name: string, private: boolean, default_branch: string, 
/**
 * GitHub's `size`: the repository's size on GitHub's disk in KiB (packed, with history).
 */
size_kb: number, language: string | null, clone_url: string, html_url: string, pushed_at: string | null, };

/**
 * A repository with its indexed counts.
 */
export type RepoInfo = { name: string, root: string, kind: string, added_at: number, last_indexed_at: number | null, 
/**
 * `OWNER/NAME` for a cloned GitHub repository.
 */
remote: string | null, branch: string | null, head: string | null, 
/**
 * Not watched, fetched or indexed until resumed; what is indexed stays searchable.
 */
paused: boolean, 
/**
 * A local folder named by an imported profile: not watched, indexed or read until the
 * user confirms it (`ferret repo confirm NAME`, or Confirm in the app).
 */
needs_confirmation: boolean, files: number, chunks: number, embedded_chunks: number, };

export type Phase = "walking" | "chunking" | "embedding" | "reembedding" | "saving" | "done";

/**
 * A snapshot of an indexing run, sent to the progress callback.
 */
export type Progress = { phase: Phase, repo: string, 
/**
 * `repo` is the run's `repo_index`-th repository (0-based) of `repos_total`, so a
 * caller can show progress over all of them without counting repositories itself.
 */
repo_index: number, repos_total: number, files_done: number, files_total: number, chunks_written: number, embeddings_done: number, embeddings_total: number, elapsed_secs: number, 
/**
 * The model being embedded for, while re-embedding after a model switch.
 */
model: string | null, };

/**
 * A job's progress over all its repositories, for one bar and one status line.
 */
export type Overall = { 
/**
 * Repositories whose files are all chunked (all of them once the job is done).
 */
repos_done: number, repos_total: number, 
/**
 * 0..=100: the lexical pass over the repositories is the first half, embedding the
 * second (a run with nothing to embed jumps from the lexical pass to 100).
 */
percent: number, };

/**
 * What a clone or fetch is doing now.
 */
export type GitStage = "connecting" | "receiving" | "resolving" | "checking_out" | "done";

/**
 * A progress report for a clone or fetch.
 */
export type GitProgress = { stage: GitStage, received_objects: number, total_objects: number, indexed_deltas: number, total_deltas: number, received_bytes: number, };

/**
 * `index-progress` payload.
 */
export type IndexProgressEvent = { 
/**
 * The job's repository, or `None` when it covers all of them.
 */
repo: string | null, progress: Progress, overall: Overall, 
/**
 * Items per second in the current phase (files while chunking, chunks while
 * embedding), measured by the engine's job runner.
 */
rate: number, 
/**
 * Seconds left in the current phase at that rate, once there is one.
 */
eta_secs: number | null, };

/**
 * `git-progress` payload.
 */
export type GitProgressEvent = { repo: string, progress: GitProgress, };

/**
 * `jobs-changed` payload.
 */
export type JobsChangedEvent = { running: boolean, paused: boolean, 
/**
 * "Indexing 3/7 repos, 42%", "Paused", "Up to date", ...
 */
summary: string, };

/**
 * `deep-link-search` payload.
 */
export type DeepLinkSearchEvent = { query: string, profile: string | null, };

/**
 * `deep-link-confirm` payload: the link needs the user's yes first, because it opens a
 * file in the editor or names another profile (or both).
 */
export type DeepLinkConfirmEvent = { url: string, 
/**
 * What the link does, for the question: "search for …" or "open path:line".
 */
action: string, 
/**
 * The repository whose file the link opens; `None` for a search.
 */
opens_in: string | null, profile: string, profile_name: string, current: string, current_name: string, };

/**
 * `error` payload: background work failed.
 */
export type ErrorEvent = { message: string, };

/**
 * A highlighted range in a snippet: line index within the snippet, byte columns.
 */
export type Highlight = { line: number, start: number, end: number, };

/**
 * One reason a hit moved: shown by `ferret search --explain`, the MCP tool and the app.
 */
export type Signal = { 
/**
 * Which signal: `definition`, `path`, `prior`, `coherence`, `diversity`.
 */
signal: string, 
/**
 * What it saw, in words (`defines HTTPAdapter`, `test file`).
 */
detail: string, 
/**
 * How much it changed the score (added, or the difference a factor made).
 */
change: number, };

/**
 * One result, as the CLI prints it and the UI shows it.
 */
export type SearchHit = { repo: string, 
/**
 * Relative to the repository root, `/` separated.
 */
path: string, start_line: number, end_line: number, language: string, symbol: string | null, kind: string, 
/**
 * The most relevant lines of the chunk.
 */
snippet: string, 
/**
 * The file line number of the snippet's first line.
 */
snippet_start_line: number, highlights: Array<Highlight>, 
/**
 * The score after the ranking stage ([`rank`]): the fused score in hybrid mode (see
 * [`fusion`]), the min-max normalised BM25 or cosine in single modes, moved by the
 * signals in `signals`.
 */
score: number, 
/**
 * 1-based rank in the lexical ranking, when it found this chunk.
 */
lexical_rank: number | null, 
/**
 * 1-based rank in the semantic ranking, when it found this chunk.
 */
semantic_rank: number | null, chunk_id: number, 
/**
 * The file changed since this chunk was indexed (it will be re-indexed): the snippet
 * is empty rather than showing lines that are no longer what was matched. (Absent from
 * the answers of an older `ferret daemon`: false.)
 */
stale: boolean, 
/**
 * What the ranking stage saw that moved this hit (`ferret search --explain`). Absent
 * from the answers of an older `ferret daemon`: empty.
 */
signals: Array<Signal>, };

/**
 * What one search returns: its hits, best first, and whether none of them is a strong
 * match for the query ([`confidence`]). The hits are the closest ones either way.
 */
export type SearchResults = { results: Array<SearchHit>, 
/**
 * Nothing found answers the query: the hits are only the closest code there is.
 */
no_strong_match: boolean, };

export type SearchMode = "hybrid" | "lexical" | "semantic";

/**
 * Lines around a place in a file, for the preview pane.
 */
export type FileContext = { 
/**
 * 1-based line number of `lines[0]`.
 */
start_line: number, lines: Array<string>, };

/**
 * Which editor opens results.
 */
export type EditorKind = "vscode" | "jetbrains" | "vim" | "neovim" | "emacs" | "sublime" | "zed" | "custom";

/**
 * The Settings page: the profile's config fields a user edits, and "start at login"
 * (which the desktop shell keeps, not the profile).
 */
export type Settings = { editor: EditorKind, 
/**
 * Template with `{path}` and `{line}`; used when `editor` is `custom`.
 */
editor_command: string | null, excludes: Array<string>, 
/**
 * 0 = auto (half the cores).
 */
index_threads: number, fetch_interval_mins: number, start_at_login: boolean, };

/**
 * A repository whose files `ferret://open` links open without asking.
 */
export type LinkGrant = { 
/**
 * The repository's id: what the grant is keyed by, and what revoking it takes.
 */
repo_id: number, 
/**
 * The repository's name now.
 */
repo: string, };

/**
 * A profile's security-relevant settings, as they are now.
 */
export type SecuritySettings = { 
/**
 * The editor results open in; with `custom`, `editor_command` is what runs.
 */
editor: EditorKind, 
/**
 * The custom editor's command template (`{path}`, `{line}`), if one is set.
 */
editor_command: string | null, 
/**
 * The directory this profile loads ONNX Runtime and the model from; `None` uses
 * `$FERRET_MODEL_DIR` or the files installed with Ferret.
 */
model_dir: string | null, 
/**
 * Files that usually hold credentials (`.env`, private keys, `.npmrc`) are indexed,
 * so their contents are searchable and reach agents through MCP.
 */
index_secret_files: boolean, 
/**
 * Repositories whose files `ferret://open` links open without asking.
 */
link_grants: Array<LinkGrant>, };

/**
 * One security setting to take back to its safe default.
 */
export type SecurityReset = { "setting": "editor_command" } | { "setting": "model_dir" } | { "setting": "index_secret_files" } | { "setting": "link_grant", repo_id: number, } | { "setting": "all_link_grants" };

/**
 * One catalogue entry, with what it costs here.
 */
export type ModelInfo = { id: string, name: string, description: string, dims: number, max_tokens: number, max_windows: number, 
/**
 * Its files are in the model directory.
 */
installed: boolean, 
/**
 * Chunks embedded per second on this machine, measured by this profile's index runs.
 */
chunks_per_sec: number | null, };

/**
 * A model switch in progress: distinct chunk texts embedded for the new model so far.
 */
export type ModelSwitch = { to: string, embedded: number, total: number, };

/**
 * `ferret model list` and the Settings page: which model serves searches, the switch in
 * progress, and every model this build knows.
 */
export type ModelStatus = { active: string, switch: ModelSwitch | null, models: Array<ModelInfo>, };

/**
 * Coding agents with a known configuration format.
 */
export type AgentClient = "claude-code" | "cursor" | "vscode" | "zed";

/**
 * One client's configuration, ready to paste.
 */
export type AgentConfig = { client: AgentClient, name: string, 
/**
 * Where the text goes ("run in a terminal", a file name).
 */
place: string, text: string, };

/**
 * What the Settings page shows: the server command and every client's configuration.
 */
export type AgentSetup = { 
/**
 * The command line that serves the profile (for any other MCP client).
 */
command: string, configs: Array<AgentConfig>, };

/**
 * What `export` wrote.
 */
export type ExportReport = { profile: string, file: string, bytes: number, repos: number, };

/**
 * A local repository an imported profile names, waiting for the user's confirmation.
 */
export type LocalRepoToConfirm = { name: string, 
/**
 * The folder as the archive names it.
 */
root: string, };

/**
 * What `import` restored, and what the user still has to do.
 */
export type ImportReport = { profile: ProfileRecord, repos: number, 
/**
 * Local repositories whose folder is on this machine: not read, watched or indexed
 * until the user checks the folder and confirms it (`ferret repo confirm NAME`).
 */
local_repos_to_confirm: Array<LocalRepoToConfirm>, 
/**
 * Local repositories whose folder is not on this machine (still searchable; restore
 * the folder and confirm it, or remove the repository).
 */
missing_local_repos: Array<string>, 
/**
 * GitHub repositories whose clone is made again by the next sync after signing in
 * (still searchable meanwhile; the index and its embeddings are kept).
 */
clones_to_restore: Array<string>, 
/**
 * The profile had a GitHub token: sign in again (`ferret login`) to sync.
 */
needs_sign_in: boolean, 
/**
 * An existing profile was replaced.
 */
replaced: boolean, 
/**
 * Settings the archive set that an import never takes over (they run a program, load
 * a library, open files without asking or index credentials), by their `config.json`
 * name; they are at their defaults now.
 */
settings_reset_for_safety: Array<string>, 
/**
 * Settings whose value in the archive could not be used, each a message naming it;
 * they are at their defaults now.
 */
settings_reset_as_invalid: Array<string>, };

/**
 * This build's version and the places it uses.
 */
export type About = { 
/**
 * The package version (`Cargo.toml`).
 */
version: string, 
/**
 * The embedding model a new profile uses.
 */
model: string, 
/**
 * The ONNX Runtime release the model runs on.
 */
onnxruntime: string, 
/**
 * Where the model and ONNX Runtime are read from; `None` when none was found (the
 * error at first use says how to get them).
 */
model_dir: string | null, 
/**
 * Why that directory: "FERRET_MODEL_DIR", "data directory", "bundled" (an installed
 * package), "development checkout" or "given" (an explicit override).
 */
model_dir_source: string | null, 
/**
 * The data directory holding every profile.
 */
data_dir: string | null, };

/** Event names and their payloads. */
export const EVENTS = {
  INDEX_PROGRESS: "index-progress",
  GIT_PROGRESS: "git-progress",
  JOBS_CHANGED: "jobs-changed",
  DEEP_LINK_SEARCH: "deep-link-search",
  DEEP_LINK_CONFIRM: "deep-link-confirm",
  ERROR: "error",
} as const;

export interface EventMap {
  "index-progress": IndexProgressEvent;
  "git-progress": GitProgressEvent;
  "jobs-changed": JobsChangedEvent;
  "deep-link-search": DeepLinkSearchEvent;
  "deep-link-confirm": DeepLinkConfirmEvent;
  "error": ErrorEvent;
}

/** Canonical `lang:` names with the aliases the engine accepts. */
export const LANGUAGES: [string, string[]][] = [
  ["rust", ["rs"]],
  ["python", ["py", "python3"]],
  ["javascript", ["js", "jsx", "node", "mjs"]],
  ["typescript", ["ts"]],
  ["tsx", []],
  ["go", ["golang"]],
  ["java", []],
  ["c", ["h"]],
  ["cpp", ["c++", "cxx", "cc", "hpp"]],
  ["csharp", ["c#", "cs"]],
  ["ruby", ["rb"]],
  ["php", []],
  ["bash", ["sh", "shell", "zsh"]],
  ["markdown", ["md"]],
  ["json", []],
  ["yaml", ["yml"]],
  ["toml", []],
  ["html", ["htm"]],
  ["css", ["scss", "less"]],
  ["sql", []],
  ["kotlin", ["kt"]],
  ["swift", []],
  ["scala", []],
  ["lua", []],
  ["text", ["txt", "plain"]],
];

/** Editors a result can open in, with their names. */
export const EDITORS: [EditorKind, string][] = [
  ["vscode", "VS Code"],
  ["jetbrains", "JetBrains IDEA"],
  ["vim", "Vim"],
  ["neovim", "Neovim"],
  ["emacs", "Emacs"],
  ["sublime", "Sublime Text"],
  ["zed", "Zed"],
  ["custom", "Custom command…"],
];

/** A profile limit this full (0..1) shows a warning. */
export const LIMIT_WARN_AT = 0.8;
