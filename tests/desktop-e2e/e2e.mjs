// Desktop end-to-end: drives the real Ferret app (debug build) through tauri-driver and
// WebKitWebDriver with plain WebDriver HTTP calls (Node's fetch; no npm packages), against
// the local GitHub API and git server of the Rust suites (`ferret-test-servers`).
//
// The run, as a new user would go: first-run welcome → sign in with a token through the UI
// (Enterprise URL pointed at the local API) → pick the fixture repository from the GitHub list
// → watch it clone and index to 100% → search → choose an editor in Settings and open a result
// (Enter) → the tray: close the window and keep indexing in the background (status line and
// icon change), Pause/Resume, Open, Search clipboard, switch profile, a notification when a
// job fails → a second launch with a deep link runs its search in the window → a link for
// another profile asks first → an invalid link only says why → "start at login" → Quit from
// the tray → a start at login begins in the tray without a window → a cold start with a link
// runs that search once the page is ready.
//
// Run by run.sh inside xvfb-run + dbus-run-session with an unlocked gnome-keyring.
// desktop_host.py plays the desktop: a StatusNotifier tray, a notification daemon and a
// clipboard owner, on the same session bus, speaking the protocols real desktops speak.
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const [app, servers, fixture, shots, work] = process.argv.slice(2);
if (!app || !servers || !fixture || !shots || !work) {
  throw new Error("usage: e2e.mjs APP TEST_SERVERS FIXTURE_DIR SCREENSHOT_DIR WORK_DIR");
}
mkdirSync(shots, { recursive: true });
const PORT = 4444;
const base = `http://127.0.0.1:${PORT}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const started = Date.now();
const log = (msg) => console.log(`[e2e +${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}`);

async function wd(method, path, body) {
  const res = await fetch(base + path, {
    method,
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json).slice(0, 500)}`);
  return json.value;
}

async function waitFor(what, fn, timeoutMs = 30000, everyMs = 250) {
  const end = Date.now() + timeoutMs;
  let last;
  while (Date.now() < end) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await sleep(everyMs);
  }
  throw new Error(`timed out waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
}

/** Every file under `dir` that contains `needle` (the token must be in none). */
function filesContaining(dir, needle) {
  const hits = [];
  const walk = (d) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const st = statSync(p, { throwIfNoEntry: false });
      if (!st) continue;
      if (st.isDirectory()) walk(p);
      else if (st.isFile() && readFileSync(p).includes(needle)) hits.push(p);
    }
  };
  walk(dir);
  return hits;
}

// ------------------------------------------------------------------ the local GitHub
const serverProc = spawn(servers, [`octo-e2e/polyglot=${fixture}`], { stdio: ["pipe", "pipe", "inherit"] });
const gh = await new Promise((resolve, reject) => {
  const lines = createInterface({ input: serverProc.stdout });
  lines.once("line", (line) => resolve(JSON.parse(line)));
  serverProc.once("exit", (code) => reject(new Error(`ferret-test-servers exited with ${code}`)));
});
log(`local GitHub API at ${gh.api_url}, git at ${gh.repos[0].clone_url}`);

// ------------------------------------------------------------------ the desktop around the app
const hostProc = spawn("/usr/bin/python3", [join(dirname(fileURLToPath(import.meta.url)), "desktop_host.py")], {
  stdio: ["pipe", "pipe", "inherit"],
});
const hostLines = createInterface({ input: hostProc.stdout });
const hostReplies = [];
let hostWaiter = null;
hostLines.on("line", (line) => {
  hostReplies.push(JSON.parse(line));
  if (hostWaiter) hostWaiter();
});
const nextHostReply = async (timeoutMs = 30000) => {
  const end = Date.now() + timeoutMs;
  while (hostReplies.length === 0) {
    if (Date.now() > end) throw new Error("the desktop host did not answer");
    await new Promise((r) => {
      hostWaiter = r;
      setTimeout(r, 200);
    });
  }
  return hostReplies.shift();
};
let hostQueue = Promise.resolve();
/** One request to desktop_host.py; requests are serialised, replies come in order. */
const host = (cmd, args = {}, timeoutMs = 30000) => {
  const run = hostQueue.then(async () => {
    hostProc.stdin.write(JSON.stringify({ cmd, ...args }) + "\n");
    const r = await nextHostReply(timeoutMs);
    if (r && r.error) throw new Error(`desktop host ${cmd}: ${r.error}`);
    return r;
  });
  hostQueue = run.catch(() => {});
  return run;
};
if (!(await nextHostReply(15000)).ready) throw new Error("the desktop host did not start");
log("desktop host up: tray watcher, notification daemon, clipboard");
const labels = (menu) => menu.map((m) => m.label);
const trayStatus = async () => (await host("menu"))[0].label;
const appRunning = () => spawnSync("pgrep", ["-f", `^${app}$`]).status === 0;

// The "editor": records what it was asked to open.
const opened = join(work, "opened.txt");
const recorder = join(work, "record-open");
writeFileSync(recorder, `#!/bin/sh\nprintf '%s:%s\\n' "$1" "$2" >> '${opened}'\n`);
chmodSync(recorder, 0o755);

const driver = spawn("tauri-driver", ["--port", String(PORT)], { stdio: ["ignore", "inherit", "inherit"] });
let session;
let failed = false;

/** A WebDriver session on a fresh launch of the app (with `args` on its command line). */
async function launch(args = []) {
  session = (
    await wd("POST", "/session", {
      capabilities: { alwaysMatch: { "tauri:options": { application: app, args } } },
    })
  ).sessionId;
  return makeClient(`/session/${session}`);
}

function makeClient(S) {
  const c = {
    exec: (script, args = []) => wd("POST", `${S}/execute/sync`, { script, args }),
    // Calls a backend command the way api.ts does.
    invoke: async (cmd, args = {}) => {
      const r = await wd("POST", `${S}/execute/async`, {
        script: `const done = arguments[arguments.length - 1];
          window.__TAURI_INTERNALS__.invoke(arguments[0], arguments[1])
            .then((v) => done({ ok: v === undefined ? null : v }), (e) => done({ err: String(e) }));`,
        args: [cmd, args],
      });
      if (r && "err" in r) throw new Error(`${cmd}: ${r.err}`);
      return r.ok;
    },
    find: async (css) => {
      const els = await wd("POST", `${S}/elements`, { using: "css selector", value: css });
      return els.map((e) => Object.values(e)[0]);
    },
    oneX: async (what, xpath, timeoutMs = 30000) =>
      await waitFor(what, async () => {
        const els = await wd("POST", `${S}/elements`, { using: "xpath", value: xpath });
        return els.map((e) => Object.values(e)[0])[0];
      }, timeoutMs),
    one: async (what, css, timeoutMs = 30000) => (await waitFor(what, async () => (await c.find(css))[0], timeoutMs)),
    text: (id) => wd("GET", `${S}/element/${id}/text`),
    click: (id) => wd("POST", `${S}/element/${id}/click`, {}),
    type: (id, text) => wd("POST", `${S}/element/${id}/value`, { text }),
    clear: (id) => wd("POST", `${S}/element/${id}/clear`, {}),
    visible: () => c.invoke("plugin:window|is_visible", { label: "main" }),
    textOf: (css) =>
      c.exec("return Array.from(document.querySelectorAll(arguments[0])).map((e) => e.innerText || e.textContent).join(' ')", [css]),
    // ImageMagick's `import` grabs the X screen (WebKitWebDriver's own screenshot call
    // proved unreliable under Xvfb).
    shot: async (name) => {
      await sleep(600);
      const file = join(shots, `desktop-${name}.png`);
      const r = spawnSync("import", ["-window", "root", file], { timeout: 20000 });
      if (r.status !== 0) throw new Error(`import failed: ${r.stderr}`);
      log(`screenshot ${file}`);
    },
    key: (value, ctrl = false) =>
      wd("POST", `${S}/actions`, {
        actions: [
          {
            type: "key",
            id: "kb",
            actions: [
              ...(ctrl ? [{ type: "keyDown", value: "\uE009" }] : []),
              { type: "keyDown", value },
              { type: "keyUp", value },
              ...(ctrl ? [{ type: "keyUp", value: "\uE009" }] : []),
            ],
          },
        ],
      }),
  };
  return c;
}

try {
  await waitFor("tauri-driver", () => fetch(`${base}/status`).then((r) => r.ok), 20000);
  let c = await launch();

  // ---------------------------------------------------------------- first run, sign-in
  await c.one("the welcome screen", ".signin");
  const welcome = await c.textOf(".signin-head");
  if (!/Welcome to Ferret/.test(welcome)) throw new Error(`first run shows: ${welcome}`);
  log("first run: welcome screen");
  await c.shot("welcome");

  await c.click(await c.one("Advanced", "details.advanced summary"));
  const [apiField] = await c.find('details.advanced input');
  await c.type(apiField, gh.api_url);
  // A wrong token first: GitHub's 401 is shown and nothing is kept.
  const token = await c.one("the token field", "#token");
  await c.type(token, "ghp_0000000000000000000000000000000000000");
  await c.click(await c.one("Sign in", ".signin-form button[type=submit]"));
  const bad = await waitFor("the 401 message", async () => {
    const t = await c.textOf(".signin-form .error-note, .signin-form [role=alert], .signin-form .error");
    return /401|Bad credentials|rejected/i.test(t) ? t : null;
  });
  log(`wrong token refused: ${bad.slice(0, 100)}`);
  await c.shot("signin-error");
  await c.type(token, gh.token);
  await c.click(await c.one("Sign in", ".signin-form button[type=submit]"));
  await waitFor("the signed-in header", async () => /octo-e2e/.test(await c.textOf(".profile-name")), 30000);
  const profiles = await c.invoke("profiles_list");
  const me = profiles.profiles.find((p) => p.id === profiles.current);
  if (me.kind !== "github" || me.github_login !== "octo-e2e") throw new Error(`signed in as ${JSON.stringify(me)}`);
  log(`signed in: ${me.id}`);
  const leaks = filesContaining(process.env.FERRET_DATA_DIR, gh.token);
  if (leaks.length) throw new Error(`the token is on disk: ${leaks.join(", ")}`);

  // ---------------------------------------------------------------- GitHub list → add
  const row = await c.one("the GitHub list", '.gh-row[data-repo="octo-e2e/polyglot"]');
  await waitFor("all listed repositories (paginated)", async () => (await c.find(".gh-row")).length === 5);
  await c.shot("github-repos");
  await c.click((await wd("POST", `/session/${session}/element/${row}/elements`, { using: "css selector", value: "input[type=checkbox]" })).map((e) => Object.values(e)[0])[0]);
  await c.click(await c.one("Add", "#gh-add"));
  log("adding octo-e2e/polyglot");
  await c.one("the progress panel", ".progress-row, .indexing");
  await sleep(700);
  await c.shot("indexing");
  const done = await waitFor(
    "indexing to reach 100% (lexical and semantic)",
    async () => {
      const r = (await c.invoke("repos_list")).find((x) => x.name === "octo-e2e/polyglot");
      return r && r.chunks > 0 && r.embedded_chunks === r.chunks && r.last_indexed_at ? r : null;
    },
    300000,
    1000,
  );
  log(`indexed: ${done.files} files, ${done.chunks} chunks, ${done.embedded_chunks} embedded, head ${done.head}`);
  if (done.kind !== "github" || !done.remote) throw new Error(`not a GitHub clone: ${JSON.stringify(done)}`);
  await waitFor("the row to say it is indexed", async () => /polyglot/.test(await c.textOf(".repo-row")));
  await sleep(1500);
  await c.shot("repos");

  // ---------------------------------------------------------------- add a local folder
  // "Add local folder" opens GTK's native folder chooser; xdotool types into it like a user
  // (Ctrl+L, the path, Enter).
  const notes = join(work, "picked", "team-notes");
  mkdirSync(join(notes, "scripts"), { recursive: true });
  writeFileSync(join(notes, "README.md"), "# Team notes\n\nHow we rotate the on-call pager and page the backup.\n");
  writeFileSync(join(notes, "scripts", "rotate.py"), "def rotate_pager(team, week):\n    return team[week % len(team)]\n");
  await c.click(await c.oneX("Add local folder", "//button[contains(., 'Add local folder')]"));
  const chooser = await waitFor("the folder chooser", () => {
    const r = spawnSync("xdotool", ["search", "--onlyvisible", "--name", "^Add a repository$"], { encoding: "utf8" });
    return r.status === 0 ? r.stdout.trim().split("\n")[0] : null;
  }, 20000);
  await sleep(800);
  await c.shot("folder-dialog");
  const xdo = (...args) => {
    const r = spawnSync("xdotool", args, { encoding: "utf8", timeout: 20000 });
    if (r.status !== 0) throw new Error(`xdotool ${args.join(" ")}: ${r.stderr}`);
  };
  xdo("windowfocus", "--sync", chooser);
  xdo("key", "--clearmodifiers", "ctrl+l");
  await sleep(300);
  xdo("type", "--delay", "15", notes);
  await sleep(500);
  // GTK completes inline (selected text, e.g. "/scripts"): Delete drops it, Enter picks the folder.
  xdo("key", "Delete");
  await sleep(200);
  xdo("key", "Return");
  const picked = await waitFor("the picked folder to be added and indexed", async () => {
    const r = (await c.invoke("repos_list")).find((x) => x.root === notes);
    return r && r.chunks > 0 && r.last_indexed_at ? r : null;
  }, 60000, 500);
  log(`folder chooser: added ${picked.name} (${picked.files} files)`);
  // One repository paused and resumed from its row.
  await c.click(await c.one("its Pause button", `[aria-label="Pause ${picked.name}"]`));
  await waitFor("the repository to pause", async () => (await c.invoke("repos_list")).find((r) => r.name === picked.name)?.paused === true);
  await waitFor("the row to say Paused", async () => /Paused/.test(await c.textOf(`.repo-row[data-repo="${picked.name}"]`)));
  await c.shot("repo-paused");
  await c.click(await c.one("its Resume button", `[aria-label="Resume ${picked.name}"]`));
  await waitFor("the repository to resume", async () => (await c.invoke("repos_list")).find((r) => r.name === picked.name)?.paused === false);
  log("paused and resumed one repository from its row");

  // ---------------------------------------------------------------- settings: the editor
  await c.key("3", true);
  log("settings: screen");
  // Clicking an <option> selects it (WebDriver's rule); opening the native popup first
  // would only cost time.
  await c.one("the editor setting", "#editor");
  await c.click(await c.one("the custom option", '#editor option[value="custom"]'));
  log("settings: custom chosen");
  const command = await c.one("the command field", "#editor-command");
  await c.clear(command);
  log("settings: command cleared");
  await c.type(command, `${recorder} {path} {line}`);
  log("settings filled in");
  await c.click(await c.one("Save", ".save-bar button[type=submit]"));
  await waitFor("the settings to save", async () => /All changes saved/.test(await c.textOf(".save-bar")));
  log("settings saved");
  const settings = await c.invoke("settings_get");
  if (settings.editor !== "custom" || !settings.editor_command.startsWith(recorder)) throw new Error(`settings: ${JSON.stringify(settings)}`);
  await c.shot("settings");

  // ---------------------------------------------------------------- search, open a result
  await c.key("1", true);
  const input = await c.one("the search box", "#search-input");
  await c.click(input);
  await c.type(input, "ring buffer push");
  await waitFor("search results", async () => (await c.find(".hit")).length > 0);
  const shown = await c.textOf(".results");
  if (!/ring_buffer_push/.test(shown)) throw new Error(`ring_buffer_push not found: ${shown.slice(0, 400)}`);
  await c.one("the preview", ".preview tr.on");
  const selectedHit = await c.textOf(".hit.selected");
  if (!/ring_buffer_push/.test(selectedHit)) throw new Error(`the selected hit is not the best one: ${selectedHit}`);
  await c.shot("search");
  await c.key("\uE007"); // Enter opens the selected result in the editor
  const openedLine = await waitFor("the editor to be asked to open the file", () =>
    existsSync(opened) ? readFileSync(opened, "utf8").trim() : null,
  );
  const [openedPath, line] = openedLine.split(/:(?=\d+$)/);
  // The best hit is ring_buffer_push (lines 17-22); the editor opens at its first match.
  if (!openedPath.endsWith("/repos/octo-e2e/polyglot/src/ring_buffer.c") || line !== "18") {
    throw new Error(`editor opened ${openedLine}`);
  }
  log(`opened in the editor: ${openedLine}`);

  // ---------------------------------------------------------------- tray and background
  await host("wait_item", { count: 1 }, 20000);
  await waitFor("the tray to say it is up to date", async () => (await trayStatus()) === "Up to date", 20000);
  const menu = await host("menu");
  const want = ["Up to date", "---", "Open Ferret", "Search clipboard", "Pause indexing", "Switch profile", "---", "Quit Ferret"];
  if (JSON.stringify(labels(menu)) !== JSON.stringify(want)) throw new Error(`tray menu: ${JSON.stringify(labels(menu))}`);
  const switcher = menu.find((m) => m.label === "Switch profile").children;
  const mine = switcher.find((m) => m.label === `octo-e2e (${me.id})`);
  if (!mine || mine.toggle_state !== 1 || switcher.find((m) => m.label === "default")?.toggle_state !== 0) {
    throw new Error(`profile switcher: ${JSON.stringify(switcher)}`);
  }
  const idleIcon = (await host("props")).IconName;
  log(`tray: ${labels(menu).filter((l) => l !== "---").join(" | ")}; profiles ${switcher.map((m) => m.label).join(", ")}`);

  // Closing the window hides it; the app and its indexing go on.
  await c.exec("window.__TAURI_INTERNALS__.invoke('plugin:window|close', { label: 'main' })");
  await waitFor("the window to hide", async () => (await c.visible()) === false, 10000);
  if (!appRunning()) throw new Error("closing the window ended the app");
  log("window closed: hidden, app still running");

  // Paused from the tray, a new repository waits; resumed, it indexes with the window hidden.
  await host("click", { label: "^Pause indexing$" });
  await waitFor("the tray to say Paused", async () => labels(await host("menu")).includes("Resume indexing") && (await trayStatus()) === "Paused", 10000);
  const engineSrc = join(work, "ui-src");
  cpSync(join(fixture, "../../../ui/src"), engineSrc, { recursive: true });
  const added = await c.invoke("repo_add_local", { path: engineSrc });
  await sleep(1500);
  const whilePaused = (await c.invoke("repos_list")).find((r) => r.name === added.name);
  if (whilePaused.chunks !== 0) throw new Error(`indexed while paused: ${JSON.stringify(whilePaused)}`);
  await host("click", { label: "^Resume indexing$" });
  const seen = { statuses: new Set(), icons: new Set(), hiddenThroughout: true };
  const indexedHidden = await waitFor(
    "the hidden app to index the new repository",
    async () => {
      const [status, props] = [await trayStatus(), await host("props")];
      seen.statuses.add(status);
      seen.icons.add(props.IconName);
      if ((await c.visible()) !== false) seen.hiddenThroughout = false;
      const r = (await c.invoke("repos_list")).find((x) => x.name === added.name);
      return r && r.chunks > 0 && r.embedded_chunks === r.chunks && r.last_indexed_at ? r : null;
    },
    300000,
    300,
  );
  log(`indexed in the background: ${indexedHidden.chunks} chunks; tray said ${[...seen.statuses].join(" → ")}`);
  const finishedNote = await waitFor("the finished notification", async () =>
    (await host("notifications")).find((n) => n.summary === "Indexing finished" && n.body.includes(added.name)),
  );
  log(`notification: ${finishedNote.summary}: ${finishedNote.body}`);
  if (![...seen.statuses].some((t) => /^Indexing/.test(t))) throw new Error(`the tray never said Indexing: ${[...seen.statuses]}`);
  if (![...seen.icons].some((i) => i !== idleIcon)) throw new Error("the tray icon never changed while indexing");
  if (!seen.hiddenThroughout) throw new Error("the window showed itself while indexing");
  await waitFor("the tray to settle", async () => (await trayStatus()) === "Up to date", 30000);
  if ((await host("props")).IconName === [...seen.icons].find((i) => i !== idleIcon)) throw new Error("the indexing icon stayed");

  // A job that fails says so in a desktop notification (and in the window).
  await host("click", { label: "^Open Ferret$" });
  await waitFor("Open Ferret to show the window", async () => (await c.visible()) === true, 10000);
  log("tray Open Ferret: window shown");
  const doomed = join(work, "doomed");
  cpSync(fixture, doomed, { recursive: true });
  const doomedRepo = await c.invoke("repo_add_local", { path: doomed });
  await waitFor("the doomed repository to index", async () => {
    const r = (await c.invoke("repos_list")).find((x) => x.name === doomedRepo.name);
    return r && r.last_indexed_at && r.embedded_chunks === r.chunks;
  }, 120000, 500);
  rmSync(doomed, { recursive: true, force: true });
  await c.invoke("repo_index", { name: doomedRepo.name });
  const note = await waitFor("the failure notification", async () => {
    const all = await host("notifications");
    return all.find((n) => n.summary === "Indexing failed");
  }, 60000, 500);
  log(`notification: ${note.summary}: ${note.body}`);
  // The watcher also notices the folder go and queues a job that fails the same way: the
  // desktop hears of it once.
  await sleep(2000);
  const failures = (await host("notifications")).filter((n) => n.summary === "Indexing failed");
  if (failures.length !== 1) throw new Error(`one failure, ${failures.length} notifications: ${JSON.stringify(failures)}`);
  if (!note.body.includes(doomedRepo.name) || !/cannot open repository/.test(note.body)) throw new Error(`notification body: ${note.body}`);
  await waitFor("the failure in the window", async () => /Indexing .* failed/.test(await c.textOf(".toast")), 10000);
  await c.shot("job-failed");
  await c.invoke("repo_remove", { name: doomedRepo.name });

  // Search clipboard.
  await host("set_clipboard", { text: "slugify\nsecond line is ignored" });
  await host("click", { label: "^Search clipboard$" });
  await waitFor("the clipboard's search", async () => {
    const value = await c.exec("return document.getElementById('search-input')?.value ?? null");
    return value === "slugify" && /TextUtils\.slugify/.test(await c.textOf(".results"));
  }, 20000);
  log("tray Search clipboard ran the search");

  // Switch profile from the tray, and back.
  await host("click", { label: "^default$" });
  await waitFor("the switch to default", async () => /default/.test(await c.textOf(".profile-name")), 20000);
  const afterSwitch = (await host("menu")).find((m) => m.label === "Switch profile").children;
  if (afterSwitch.find((m) => m.label === "default")?.toggle_state !== 1) throw new Error(`switcher after switching: ${JSON.stringify(afterSwitch)}`);
  await c.shot("tray-switched");
  await host("click", { label: `^octo-e2e \\(` });
  await waitFor("the switch back", async () => /octo-e2e/.test(await c.textOf(".profile-name")), 20000);
  log("tray profile switch: default and back");

  // A terminal's `ferret profile use` changes the CLI's current profile, not the window's.
  const cli = join(dirname(app), "ferret");
  const used = spawnSync(cli, ["profile", "use", "default"], { env: process.env, encoding: "utf8", timeout: 30000 });
  if (used.status !== 0) throw new Error(`ferret profile use: ${used.stderr}`);
  const reposNow = await c.invoke("repos_list");
  if (!reposNow.some((r) => r.name === "octo-e2e/polyglot")) throw new Error(`the window followed the terminal: ${JSON.stringify(reposNow)}`);
  if ((await c.invoke("profiles_list")).current !== me.id) throw new Error("the window's profile followed the terminal");
  spawnSync(cli, ["profile", "use", me.id], { env: process.env, timeout: 30000 });
  log("a terminal's `ferret profile use` leaves the window on its profile");

  // The page reaches only the app's commands and events: Tauri's own window API is not
  // granted, and navigating away from the app is refused.
  const titleChange = await c.invoke("plugin:window|set_title", { label: "main", value: "pwned" }).then(() => "allowed", (e) => String(e));
  if (titleChange === "allowed") throw new Error("the page could call Tauri's window API");
  const before = await c.exec("return location.href");
  await c.exec("location.href = 'https://example.com/'; return null");
  await new Promise((r) => setTimeout(r, 1500));
  const after = await c.exec("return location.href");
  if (after !== before) throw new Error(`the window navigated to ${after}`);
  log(`webview locked down: window API refused (${titleChange.slice(0, 80)}), navigation to example.com refused`);

  // ---------------------------------------------------------------- deep links
  // A second launch hands its link to this instance, which runs the search.
  const second = spawnSync(app, ["ferret://search?q=slugify&lang=ruby"], { env: process.env, timeout: 30000, encoding: "utf8" });
  log(`second instance exited with ${second.status}${second.error ? ` (${second.error.message})` : ""}`);
  const searchShows = (q, chip, hit) => async () => {
    const value = await c.exec("return document.getElementById('search-input')?.value ?? null");
    return value === q && chip.test(await c.textOf(".chip")) && hit.test(await c.textOf(".results"));
  };
  await waitFor("the deep-linked search", searchShows("slugify", /ruby/, /TextUtils\.slugify/), 20000);
  log("deep link ran the search");
  await c.shot("deep-link");

  // A link for another profile asks first; "Stay" drops it.
  spawnSync(app, ["ferret://search?q=parse&profile=default"], { env: process.env, timeout: 30000 });
  await c.one("the switch-profile question", ".modal", 15000);
  const asked = await c.textOf(".modal");
  if (!/Switch profile\?[\s\S]*search for “parse”[\s\S]*default/.test(asked)) throw new Error(`asked: ${asked}`);
  await c.shot("deep-link-confirm");
  const stay = (await c.find(".modal-foot .btn")).at(0);
  await c.click(stay);
  await waitFor("the question to close", async () => (await c.find(".modal")).length === 0);
  if ((await c.invoke("profiles_list")).current !== me.id) throw new Error("Stay switched profiles");
  log("link for another profile: asked, stayed");

  // An invalid link does nothing but say why.
  spawnSync(app, ["ferret://open?repo=polyglot&path=../../etc/passwd"], { env: process.env, timeout: 30000 });
  await waitFor("the invalid-link message", async () => /invalid file path/.test(await c.textOf(".toast")), 15000);
  await c.shot("invalid-link");

  // A link that opens a file asks first (a web page can fire links, and the editor acts on
  // what it opens), then opens it.
  const fileLink = `ferret://open?repo=${encodeURIComponent("octo-e2e/polyglot")}&path=${encodeURIComponent("src/matrix.cpp")}&line=3`;
  spawnSync(app, [fileLink], { env: process.env, timeout: 30000 });
  await c.one("the open-file question", ".modal", 15000);
  const askedOpen = await c.textOf(".modal");
  if (!/Open in your editor\?[\s\S]*open octo-e2e\/polyglot\/src\/matrix\.cpp:3/.test(askedOpen)) throw new Error(`asked: ${askedOpen}`);
  await c.shot("deep-link-open-confirm");
  await c.click(await c.one("the Open button", "#link-follow"));
  await waitFor("the linked file to open", () => /src\/matrix\.cpp:3$/m.test(readFileSync(opened, "utf8")), 15000);
  log("link that opens a file: asked, then opened");

  // A link to a file Ferret never indexed is refused before anything is asked.
  spawnSync(app, [`ferret://open?repo=${encodeURIComponent("octo-e2e/polyglot")}&path=${encodeURIComponent(".git/config")}&line=1`], { env: process.env, timeout: 30000 });
  await waitFor("the refusal", async () => /not an indexed file of repository/.test(await c.textOf(".toast")), 15000);
  if ((await c.find(".modal")).length !== 0) throw new Error("a question was asked for a file that is not indexed");
  log("link to a file that is not indexed: refused");

  // ---------------------------------------------------------------- start at login
  await c.key("3", true);
  const toggle = await c.one("the start-at-login switch", "#start-at-login");
  await c.click(toggle);
  await c.click(await c.one("Save", ".save-bar button[type=submit]"));
  await waitFor("the settings to save", async () => /All changes saved/.test(await c.textOf(".save-bar")));
  const autostartDir = join(process.env.XDG_CONFIG_HOME, "autostart");
  const entry = await waitFor("the autostart entry", () => {
    const files = existsSync(autostartDir) ? readdirSync(autostartDir).filter((f) => f.endsWith(".desktop")) : [];
    return files.length ? readFileSync(join(autostartDir, files[0]), "utf8") : null;
  });
  const exec = entry.split("\n").find((l) => l.startsWith("Exec="));
  if (!exec || !exec.includes("--minimized")) throw new Error(`autostart entry: ${entry}`);
  log(`start at login: ${exec}`);
  await c.exec("document.getElementById('start-at-login').scrollIntoView({ block: 'center' })");
  await c.shot("settings-autostart");

  // Quit from the tray ends the app (closing the window would not).
  await host("click", { label: "^Quit Ferret$" });
  await waitFor("the app to quit", () => !appRunning(), 15000);
  await wd("DELETE", `/session/${session}`).catch(() => {});
  session = undefined;
  log("tray Quit: app ended");

  // Started at login: in the tray, no window, until "Open Ferret".
  c = await launch(["--minimized"]);
  await host("wait_item", { count: 2 }, 30000);
  await sleep(1500);
  if ((await c.visible()) !== false) throw new Error("--minimized showed the window");
  await waitFor("the tray to be ready", async () => (await trayStatus()) === "Up to date", 30000);
  await host("click", { label: "^Open Ferret$" });
  await waitFor("Open Ferret to show the window", async () => (await c.visible()) === true, 10000);
  log("start at login: tray only, then Open Ferret showed the window");
  await host("click", { label: "^Quit Ferret$" });
  await waitFor("the app to quit", () => !appRunning(), 15000);
  await wd("DELETE", `/session/${session}`).catch(() => {});
  session = undefined;

  // ---------------------------------------------------------------- cold start with a link
  c = await launch(["ferret://search?q=slugify&lang=ruby"]);
  await waitFor("the launch link's search after a cold start", searchShows("slugify", /ruby/, /TextUtils\.slugify/), 60000);
  log("cold start: the launch link's search ran once the page was ready");
  await c.shot("cold-start-link");
  if ((await c.invoke("profiles_list")).current !== me.id) throw new Error("restart lost the profile");
  log("PASS");
} catch (e) {
  failed = true;
  console.error(`[e2e] FAIL: ${e.stack || e}`);
  try {
    spawnSync("import", ["-window", "root", join(shots, "desktop-failure.png")], { timeout: 20000 });
  } catch {}
} finally {
  if (session) await wd("DELETE", `/session/${session}`).catch(() => {});
  driver.kill();
  serverProc.stdin.end();
  hostProc.stdin.end();
}
process.exit(failed ? 1 : 0);
