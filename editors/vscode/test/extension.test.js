// Tests for the "Search in Ferret" command, run by Node's test runner (`npm test`): the
// extension is loaded with a fake `vscode` module, activated, and its command run against
// fake editors; the tests check the link handed to the OS and what the app would make of it.
"use strict";

const test = require("node:test");
const assert = require("node:assert/strict");
const Module = require("node:module");
const path = require("node:path");

const { createVscode, makeEditor, hrefForOpenExternal, Uri } = require("./fake-vscode");
const { parseSearchLink } = require("./ferret-link");

const ROOT = path.join(__dirname, "..");
const EXTENSION = path.join(ROOT, "extension.js");
const manifest = require(path.join(ROOT, "package.json"));

/** Loads a fresh copy of extension.js that gets `vscode` from require("vscode"). */
function loadExtension(vscode) {
  const load = Module._load;
  Module._load = function (request, parent, isMain) {
    if (request === "vscode") return vscode;
    return load.call(this, request, parent, isMain);
  };
  try {
    delete require.cache[require.resolve(EXTENSION)];
    return require(EXTENSION);
  } finally {
    Module._load = load;
  }
}

/**
 * Activates the extension in a fake VS Code and runs "Search in Ferret" once.
 * `text` is the editor's content with its selection or cursor marked (see makeEditor);
 * null means no editor is open. Returns what happened: links opened, messages shown.
 */
async function runSearch(text, options = {}) {
  const editor = text === null ? undefined : makeEditor(text);
  const { vscode, record } = createVscode({ editor, ...options });
  const extension = loadExtension(vscode);
  const context = { subscriptions: [] };
  extension.activate(context);
  const command = record.commands.get("ferret.search");
  assert.equal(typeof command, "function", "ferret.search is registered");
  await command();
  const hrefs = record.opened.map((o) => o.href);
  return { ...record, hrefs, context };
}

/** Runs the command and returns the one link it opened, checking nothing else was shown. */
async function linkFor(text, options) {
  const run = await runSearch(text, { folder: "api", ...options });
  assert.deepEqual(run.info, [], "no information message");
  assert.deepEqual(run.errors, [], "no error message");
  assert.equal(run.hrefs.length, 1, "one link opened");
  return run.hrefs[0];
}

/** What the app searches for, given the text in the editor. */
async function searchFor(text, options) {
  return parseSearchLink(await linkFor(text, options));
}

// --- activation --------------------------------------------------------------------------

test("activate registers ferret.search, the command package.json contributes", async () => {
  const { vscode, record } = createVscode();
  const context = { subscriptions: [] };
  loadExtension(vscode).activate(context);
  assert.deepEqual([...record.commands.keys()], ["ferret.search"]);
  assert.equal(context.subscriptions.length, 1);
  context.subscriptions[0].dispose();
  assert.deepEqual(record.disposed, ["ferret.search"]);

  assert.equal(manifest.main, "./extension.js");
  assert.deepEqual(manifest.contributes.commands.map((c) => c.command), ["ferret.search"]);
  assert.ok(manifest.contributes.menus["editor/context"].some((m) => m.command === "ferret.search"));
  assert.ok(manifest.contributes.keybindings.some((k) => k.command === "ferret.search"));
});

// --- what is searched ------------------------------------------------------------------------

test("searches the selected text in the workspace folder's repository", async () => {
  assert.equal(await linkFor("fn «retry_request»(url)"), "ferret://search?q=retry_request&repo=api");
  assert.equal(await linkFor("let «x = retry(3)»;"), "ferret://search?q=x%20%3D%20retry(3)&repo=api");
});

test("a selection made backwards searches the same text", async () => {
  assert.equal(await linkFor("fn »retry_request«(url)"), "ferret://search?q=retry_request&repo=api");
});

test("with nothing selected, searches the word under the cursor", async () => {
  assert.equal(await linkFor("fn retry_re‸quest(url)"), "ferret://search?q=retry_request&repo=api");
  assert.equal(await linkFor("fn ‸retry_request(url)"), "ferret://search?q=retry_request&repo=api");
  assert.equal(await linkFor("fn retry_request‸(url)"), "ferret://search?q=retry_request&repo=api");
  assert.equal(await linkFor("first line\n  second wo‸rd here"), "ferret://search?q=word&repo=api");
});

test("a selection of only whitespace counts as no selection: the word under the cursor", async () => {
  // The cursor (the selection's active end) is at the start of `request`.
  assert.equal(await linkFor("retry«   »request"), "ferret://search?q=request&repo=api");
  assert.equal(await linkFor("a «\t\r\n  »bcd"), "ferret://search?q=bcd&repo=api");
});

test("a multi-line selection searches its first non-empty line, trimmed", async () => {
  const want = "ferret://search?q=if%20retries%20%3E%203%20%7B&repo=api";
  assert.equal(await linkFor("«   if retries > 3 {\n    backoff();\n}»"), want);
  assert.equal(await linkFor("«\n\n  \t\n   if retries > 3 {  \n  backoff();»"), want, "leading blank lines skipped");
  assert.equal(await linkFor("«  if retries > 3 {  \r\n  backoff();\r\n»"), want, "CRLF");
  assert.equal(await linkFor("«\r\n  if retries > 3 {\r  backoff();»"), want, "CR alone");
  assert.equal(await linkFor("«if retries > 3 {\u2028backoff();»"), want, "Unicode line separator");
});

test("the query is cut to 200 characters", async () => {
  const long = "x".repeat(250);
  assert.equal((await searchFor(`«${long}»`)).q, "x".repeat(200));
  assert.equal((await searchFor(`«${"y".repeat(200)}»`)).q, "y".repeat(200), "200 is kept whole");

  // Characters, not UTF-16 units: an emoji at the cut is kept whole, not split in two (a
  // lone half makes encodeURIComponent throw, and the command would fail).
  const emoji = `${"a".repeat(199)}😀${"b".repeat(10)}`;
  assert.equal((await searchFor(`«${emoji}»`)).q, `${"a".repeat(199)}😀`);
  assert.equal((await searchFor(`«${"é".repeat(300)}»`)).q, "é".repeat(200));

  // The cut happens after trimming, and a space left at the cut is trimmed too.
  assert.equal(await linkFor(`«   ${"z".repeat(199)} tail»`), `ferret://search?q=${"z".repeat(199)}&repo=api`);
});

test("special characters are percent-encoded and reach the app unchanged", async () => {
  const queries = [
    "retry http",
    "a&b",
    "a & b = c",
    "#include <stdio.h>",
    "what?",
    "a?b=c&d=e#f",
    "C++",
    "x + y",
    "100%",
    "%2B",
    "%20 is a space",
    "%%41%",
    "+",
    "q=1&repo=other",
    'say "hi"',
    "it's (fine) *",
    "naïve café 日本語 😀",
    "path/to/file.rs:42",
    "back\\slash",
    "tab\tinside",
  ];
  for (const q of queries) {
    const link = await linkFor(`«${q}»`);
    const query = link.slice("ferret://search?".length);
    assert.match(query, /^q=[A-Za-z0-9%_.!~*'()-]+&repo=api$/, `${JSON.stringify(q)} is encoded: ${link}`);
    const seen = parseSearchLink(link);
    assert.equal(seen.q, q, `the app searches ${JSON.stringify(q)} (link ${link})`);
    assert.equal(seen.repo, "api");
  }
  assert.equal(await linkFor("«a b&c#d?e+f%g»"), "ferret://search?q=a%20b%26c%23d%3Fe%2Bf%25g&repo=api");
  assert.equal(await linkFor("«日本 😀»"), "ferret://search?q=%E6%97%A5%E6%9C%AC%20%F0%9F%98%80&repo=api");
});

test("control characters the app would refuse become spaces; a tab stays", async () => {
  assert.equal((await searchFor("«a\u0000b\u0007c\u007fd\u009be»")).q, "a b c d e");
  assert.equal((await searchFor("«\u0001\u0002 retry\tnow \u0003»")).q, "retry\tnow");
  // Only control characters on the first line: that line is empty, the next one is used.
  assert.equal((await searchFor("«\u0001\u0002\nnext»")).q, "next");
});

test("a lone UTF-16 surrogate in the text does not break the command", async () => {
  assert.equal((await searchFor("«ab\uD83Dcd»")).q, "ab\uFFFDcd");
});

// --- the repository --------------------------------------------------------------------------

test("repo is the name of the workspace folder holding the file", async () => {
  assert.equal(await linkFor("«retry»", { folder: "payments-api" }), "ferret://search?q=retry&repo=payments-api");
  assert.deepEqual(await searchFor("«retry»", { folder: "café_€" }), {
    q: "retry",
    repo: "café_€",
    lang: undefined,
    path: undefined,
    profile: undefined,
  });
  const odd = await linkFor("«retry»", { folder: "a&b+c#d%e" });
  assert.equal(odd, "ferret://search?q=retry&repo=a%26b%2Bc%23d%25e");
  assert.equal(parseSearchLink(odd).repo, "a&b+c#d%e");
});

test("a folder name the app would refuse as a repo name is left out", async () => {
  for (const folder of ["my repo", " api", "api\t", "line\nbreak", 'say"hi"', "nul\u0000", "\u00a0nbsp", "\uD800x", "x".repeat(513), ""]) {
    const link = await linkFor("«retry»", { folder });
    assert.equal(link, "ferret://search?q=retry", `folder ${JSON.stringify(folder)}`);
    assert.equal(parseSearchLink(link).repo, undefined);
  }
  assert.equal(await linkFor("«retry»", { folder: "x".repeat(512) }), `ferret://search?q=retry&repo=${"x".repeat(512)}`);
});

test("a file outside any workspace folder is searched in every repository", async () => {
  assert.equal(await linkFor("«retry»", { folder: undefined }), "ferret://search?q=retry");
});

// --- nothing to search, and failures ---------------------------------------------------------

test("no editor open: an information message and no link", async () => {
  const run = await runSearch(null, { folder: "api" });
  assert.deepEqual(run.hrefs, []);
  assert.equal(run.info.length, 1);
  assert.match(run.info[0], /^Ferret: open a file/);
  assert.deepEqual(run.errors, []);
});

test("nothing selected and no word under the cursor: an information message and no link", async () => {
  for (const text of ["‸", "retry   ‸   now", "‸\n\nretry", "a = (‸);", "«   »", "x\n«\n\t\n»\ny"]) {
    const run = await runSearch(text, { folder: "api" });
    assert.deepEqual(run.hrefs, [], JSON.stringify(text));
    assert.equal(run.info.length, 1, JSON.stringify(text));
    assert.match(run.info[0], /^Ferret: select some text or put the cursor on a word/);
    assert.deepEqual(run.errors, []);
  }
});

test("openExternal resolving false: an error message", async () => {
  const run = await runSearch("«retry»", { folder: "api", openResult: false });
  assert.deepEqual(run.hrefs, ["ferret://search?q=retry&repo=api"]);
  assert.equal(run.errors.length, 1);
  assert.match(run.errors[0], /^Ferret: could not open the link/);
  assert.deepEqual(run.info, []);
});

test("openExternal failing: an error message, not a failed command", async () => {
  const run = await runSearch("«retry»", { folder: "api", openResult: new Error("no handler for ferret://") });
  assert.equal(run.errors.length, 1);
  assert.match(run.errors[0], /^Ferret: could not open the link/);
});

test("openExternal resolving true: no message", async () => {
  const run = await runSearch("«retry»", { folder: "api", openResult: true });
  assert.deepEqual([run.info, run.errors], [[], []]);
});

// --- string, not vscode.Uri ------------------------------------------------------------------

test("the link goes to openExternal as a string, so VS Code does not re-encode it", async () => {
  const run = await runSearch("«C++ & #1?»", { folder: "api" });
  assert.equal(run.opened.length, 1);
  assert.equal(typeof run.opened[0].target, "string");
  assert.equal(parseSearchLink(run.hrefs[0]).q, "C++ & #1?");
});

test("why: as a vscode.Uri the same link reaches the app mangled", () => {
  // Uri.parse decodes %XX and the opener re-encodes with encodeURI(uri.toString(true)),
  // which leaves & and + bare and turns # into %2523: these checks pin that model, which the
  // test above relies on to tell a string from a Uri.
  const via = (link) => hrefForOpenExternal(Uri.parse(link, true));
  assert.equal(via("ferret://search?q=a%26b&repo=api"), "ferret://search?q=a&b&repo=api");
  assert.throws(() => parseSearchLink(via("ferret://search?q=a%26b&repo=api")), /unknown parameter "b"/);
  assert.equal(parseSearchLink(via("ferret://search?q=C%2B%2B")).q, "C");
  assert.equal(parseSearchLink(via("ferret://search?q=%23x")).q, "%23x");
  assert.equal(parseSearchLink(via("ferret://search?q=what%3F")).q, "what%3F");
  // Plain text survives either way.
  assert.equal(parseSearchLink(via("ferret://search?q=retry%20%C3%A9%25&repo=api")).q, "retry é%");
});

test("a host that refuses a string target gets a vscode.Uri", async () => {
  const run = await runSearch("«retry http»", { folder: "api", refuseStrings: true });
  assert.equal(run.opened.length, 1);
  assert.ok(run.opened[0].target instanceof Uri);
  assert.equal(parseSearchLink(run.hrefs[0]).q, "retry http");
  assert.equal(parseSearchLink(run.hrefs[0]).repo, "api");
  assert.deepEqual(run.errors, []);
});

// --- the exported helpers --------------------------------------------------------------------

test("searchLink and queryFrom are usable on their own", () => {
  const { vscode } = createVscode();
  const extension = loadExtension(vscode);
  assert.equal(extension.searchLink("a b", "api"), "ferret://search?q=a%20b&repo=api");
  assert.equal(extension.searchLink("a b", null), "ferret://search?q=a%20b");
  assert.equal(extension.searchLink("a b", "my repo"), "ferret://search?q=a%20b");
  assert.equal(extension.queryFrom(makeEditor("«  one\ntwo»")), "one");
  assert.equal(extension.queryFrom(makeEditor("  ‸  ")), "");
});
