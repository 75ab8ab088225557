// Desktop end-to-end: drives the real Ferret app (debug build) through tauri-driver and
// WebKitWebDriver with plain WebDriver HTTP calls (Node's fetch; no npm packages).
// Run by run.sh inside xvfb-run + dbus-run-session; see that script for the environment.
import { spawn, spawnSync } from "node:child_process";
import { writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";

const [app, fixture, shots] = process.argv.slice(2);
if (!app || !fixture || !shots) throw new Error("usage: e2e.mjs APP FIXTURE_DIR SCREENSHOT_DIR");
mkdirSync(shots, { recursive: true });
const PORT = 4444;
const base = `http://127.0.0.1:${PORT}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function log(msg) {
  console.log(`[e2e ${new Date().toISOString().slice(11, 19)}] ${msg}`);
}

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

const driver = spawn("tauri-driver", ["--port", String(PORT)], { stdio: ["ignore", "inherit", "inherit"] });
let session;
let failed = false;
try {
  await waitFor("tauri-driver", () => fetch(`${base}/status`).then((r) => r.ok), 20000);
  session = (
    await wd("POST", "/session", {
      capabilities: { alwaysMatch: { "tauri:options": { application: app } } },
    })
  ).sessionId;
  const S = `/session/${session}`;
  const exec = (script, args = []) => wd("POST", `${S}/execute/sync`, { script, args });
  // Calls a backend command the way api.ts does.
  const invoke = async (cmd, args = {}) => {
    const r = await wd("POST", `${S}/execute/async`, {
      script: `const done = arguments[arguments.length - 1];
        window.__TAURI_INTERNALS__.invoke(arguments[0], arguments[1])
          .then((v) => done({ ok: v === undefined ? null : v }), (e) => done({ err: String(e) }));`,
      args: [cmd, args],
    });
    if (r && "err" in r) throw new Error(`${cmd}: ${r.err}`);
    return r.ok;
  };
  const find = async (css) => {
    const els = await wd("POST", `${S}/elements`, { using: "css selector", value: css });
    return els.map((e) => Object.values(e)[0]);
  };
  const text = (id) => wd("GET", `${S}/element/${id}/text`);
  // ImageMagick's `import` grabs the X screen (WebKitWebDriver's own screenshot call
  // proved unreliable under Xvfb).
  const shot = async (name) => {
    const file = join(shots, `desktop-${name}.png`);
    const r = spawnSync("import", ["-window", "root", file], { timeout: 20000 });
    if (r.status !== 0) throw new Error(`import failed: ${r.stderr}`);
    log(`screenshot ${file}`);
  };
  const key = (value, ctrl = false) =>
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
    });

  await waitFor("the UI", async () => (await find(".app, .boot, .signin, form")).length > 0);
  log("window up");

  const profile = await invoke("profile_create_local", { id: "e2e" });
  if (profile.id !== "e2e") throw new Error(`created ${JSON.stringify(profile)}`);
  const list = await invoke("profiles_list");
  if (list.current !== "e2e") throw new Error(`current is ${list.current}`);
  await wd("POST", `${S}/refresh`, {});
  await waitFor("the main screen", async () => (await find("#search-input")).length > 0);
  await shot("empty");

  const repo = await invoke("repo_add_local", { path: fixture });
  log(`added ${repo.name} (${repo.root})`);
  await key("2", true); // Ctrl+2: repositories
  await sleep(1500);
  await shot("indexing");
  const done = await waitFor(
    "indexing to reach 100% (lexical and semantic)",
    async () => {
      const repos = await invoke("repos_list");
      const r = repos.find((x) => x.name === repo.name);
      return r && r.chunks > 0 && r.embedded_chunks === r.chunks && r.last_indexed_at ? r : null;
    },
    240000,
    1000,
  );
  log(`indexed: ${done.files} files, ${done.chunks} chunks, ${done.embedded_chunks} embedded`);
  await waitFor("the jobs to settle", async () => {
    const rows = await find(".app");
    return rows.length > 0;
  });
  await sleep(1500);
  await shot("repos");

  // Search through the UI: type, wait for hits.
  await key("1", true);
  const [input] = await waitFor("the search box", () => find("#search-input"));
  await wd("POST", `${S}/element/${input}/click`, {});
  await wd("POST", `${S}/element/${input}/value`, { text: "ring buffer push" });
  const hits = await waitFor("search results", async () => {
    const els = await find(".hit");
    return els.length > 0 ? els : null;
  });
  const [results] = await find(".results");
  const shown = await text(results);
  log(`${hits.length} hits; results begin: ${shown.slice(0, 80)}`);
  if (!/ring_buffer_push/.test(shown)) throw new Error(`ring_buffer_push not found: ${shown.slice(0, 400)}`);
  await sleep(800);
  await shot("search");

  // The preview reads the file through file_context; the backend also resolves paths.
  const ctx = await invoke("file_context", { repo: repo.name, path: "src/ring_buffer.c", line: 18, before: 1, after: 1 });
  if (ctx.start_line !== 17 || ctx.lines.length !== 3) throw new Error(`file_context ${JSON.stringify(ctx)}`);
  const escaped = await invoke("file_context", { repo: repo.name, path: "../../etc/passwd", line: 1, before: 0, after: 0 }).then(
    () => "allowed",
    (e) => e.message,
  );
  if (!/invalid file path/.test(escaped)) throw new Error(`path escape not refused: ${escaped}`);
  const link = await invoke("copy_link", { repo: repo.name, path: "src/ring_buffer.c", line: 18 });
  if (link !== "ferret://open?profile=e2e&repo=polyglot&path=src/ring_buffer.c&line=18") throw new Error(`copy_link gave ${link}`);

  // A second launch with a deep link hands it to this instance, which runs the search.
  const deep = "ferret://search?q=slugify&lang=ruby";
  const second = spawnSync(app, [deep], { env: process.env, timeout: 30000, encoding: "utf8" });
  log(`second instance exited with ${second.status}${second.error ? ` (${second.error.message})` : ""}`);
  await waitFor(
    "the deep-linked search",
    async () => {
      const chips = await find(".chip");
      const chipText = (await Promise.all(chips.map(text))).join(" ");
      const value = await exec("return document.getElementById('search-input').value");
      const [res] = await find(".results");
      const shown = res ? await text(res) : "";
      return value === "slugify" && /ruby/.test(chipText) && /TextUtils\.slugify/.test(shown);
    },
    20000,
  );
  log("deep link ran the search");
  await sleep(800);
  await shot("deep-link");

  // An invalid link does nothing but say why.
  spawnSync(app, ["ferret://open?repo=polyglot&path=../../etc/passwd"], { env: process.env, timeout: 30000 });
  await waitFor("the invalid-link message", async () => {
    const toasts = await find(".toast");
    const all = (await Promise.all(toasts.map(text))).join(" ");
    return /invalid file path/.test(all);
  }, 15000);
  await shot("invalid-link");

  // Settings round trip.
  const settings = await invoke("settings_get");
  await invoke("settings_set", { settings: { ...settings, editor: "custom", editor_command: "true {path}" } });
  const again = await invoke("settings_get");
  if (again.editor !== "custom" || again.editor_command !== "true {path}") throw new Error(`settings: ${JSON.stringify(again)}`);
  await invoke("open_in_editor", { repo: repo.name, path: "src/ring_buffer.c", line: 18 });
  await key("3", true);
  await sleep(1000);
  await shot("settings");
  log("PASS");
} catch (e) {
  failed = true;
  console.error(`[e2e] FAIL: ${e.stack || e}`);
  if (session) {
    try {
      spawnSync("import", ["-window", "root", join(shots, "desktop-failure.png")], { timeout: 20000 });
    } catch {}
  }
} finally {
  if (session) await wd("DELETE", `/session/${session}`).catch(() => {});
  driver.kill();
}
process.exit(failed ? 1 : 0);
