// Checks the packaged extension (`npm run test:vsix`): ferret-search-<version>.vsix holds
// the manifest with the right identity, package.json and extension.js as they are in the
// tree, the README and LICENSE, and nothing else (no tests, no node_modules). A missing VSIX,
// or one older than its sources, is built first with `npm run package`. Needs `unzip`.
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const { execFileSync } = require("node:child_process");
const fs = require("node:fs");
const Module = require("node:module");
const os = require("node:os");
const path = require("node:path");

const { createVscode, makeEditor } = require("./fake-vscode");

const ROOT = path.join(__dirname, "..");
const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
const VSIX = path.join(ROOT, `${manifest.name}-${manifest.version}.vsix`);
const SOURCES = ["extension.js", "package.json", "README.md", "LICENSE", ".vscodeignore"];
const EXPECTED_ENTRIES = [
  "[Content_Types].xml",
  "extension.vsixmanifest",
  "extension/LICENSE.txt",
  "extension/extension.js",
  "extension/package.json",
  "extension/readme.md",
];

function ensureVsix() {
  const built = fs.existsSync(VSIX) ? fs.statSync(VSIX).mtimeMs : -1;
  const stale = SOURCES.some((f) => {
    const file = path.join(ROOT, f);
    return fs.existsSync(file) && fs.statSync(file).mtimeMs > built;
  });
  if (!stale) return;
  if (!fs.existsSync(path.join(ROOT, "node_modules", ".bin", "vsce"))) {
    assert.fail(`${path.basename(VSIX)} is missing or out of date and vsce is not installed: run npm install`);
  }
  execFileSync("npm", ["run", "--silent", "package"], { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] });
}

const unzip = (...args) => execFileSync("unzip", args, { maxBuffer: 16 << 20 });

test.before(ensureVsix);

test("the VSIX holds the extension and nothing else", () => {
  const entries = unzip("-Z1", VSIX).toString("utf8").split("\n").filter(Boolean).sort();
  for (const needed of ["extension.vsixmanifest", "extension/package.json", "extension/extension.js"]) {
    assert.ok(entries.includes(needed), `${needed} is packaged: ${entries.join(", ")}`);
  }
  for (const entry of entries) {
    assert.doesNotMatch(entry, /(^|\/)(test|node_modules)(\/|$)/, `${entry} should not be packaged`);
    assert.doesNotMatch(entry, /(^|\/)(\.[^/]*|check\.sh|package-lock\.json|[^/]*\.vsix)$/, `${entry} should not be packaged`);
  }
  assert.deepEqual(entries, [...EXPECTED_ENTRIES].sort());
});

test("extension.vsixmanifest names the extension, its version and publisher", () => {
  const xml = unzip("-p", VSIX, "extension.vsixmanifest").toString("utf8");
  const identity = /<Identity\b[^>]*\/>/.exec(xml);
  assert.ok(identity, "the manifest has an Identity");
  const attr = (name) => (new RegExp(`\\b${name}="([^"]*)"`).exec(identity[0]) || [])[1];
  assert.equal(attr("Id"), manifest.name);
  assert.equal(attr("Version"), manifest.version);
  assert.equal(attr("Publisher"), manifest.publisher);
  assert.match(xml, new RegExp(`Id="Microsoft\\.VisualStudio\\.Code\\.Engine" Value="${manifest.engines.vscode.replace(/[.^]/g, "\\$&")}"`));
  assert.match(xml, /Path="extension\/package\.json"/);
});

test("the packaged package.json and extension.js are the ones in the tree", () => {
  for (const file of ["package.json", "extension.js"]) {
    const packaged = unzip("-p", VSIX, `extension/${file}`);
    assert.ok(packaged.equals(fs.readFileSync(path.join(ROOT, file))), `extension/${file} matches ${file}`);
  }
});

test("the packaged extension works on its own", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ferret-vsix-"));
  try {
    unzip("-q", VSIX, "extension/*", "-d", dir);
    const main = path.join(dir, "extension", JSON.parse(fs.readFileSync(path.join(dir, "extension", "package.json"), "utf8")).main);
    const { vscode, record } = createVscode({ editor: makeEditor("fn «retry & backoff»()"), folder: "api" });
    const load = Module._load;
    Module._load = function (request, parent, isMain) {
      return request === "vscode" ? vscode : load.call(this, request, parent, isMain);
    };
    let extension;
    try {
      extension = require(main);
    } finally {
      Module._load = load;
    }
    extension.activate({ subscriptions: [] });
    await record.commands.get("ferret.search")();
    assert.deepEqual(record.opened.map((o) => o.href), ["ferret://search?q=retry%20%26%20backoff&repo=api"]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
