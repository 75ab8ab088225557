// "Search in Ferret": opens ferret://search?q=<selection or word>&repo=<workspace folder>
// in the Ferret desktop app. No dependencies, no build step.
"use strict";
const vscode = require("vscode");

/** Longest query sent, in characters (code points, so an emoji is never cut in half). */
const MAX_QUERY_CHARS = 200;

/** Line breaks as VS Code and the app see them: CRLF, CR, LF, NEL, LS, PS. */
const LINE_BREAK = /\r\n|[\r\n\u0085\u2028\u2029]/;
/** Control characters the app refuses in a link value (it allows the tab). */
const CONTROL = /[\u0000-\u0008\u000A-\u001F\u007F-\u009F]/g;
/** A UTF-16 surrogate without its partner: encodeURIComponent throws on one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * The query to search for: the selected text, or the word under the cursor when the
 * selection is empty or only whitespace; its first non-empty line, trimmed, with control
 * characters turned into spaces, at most MAX_QUERY_CHARS characters. "" when there is none.
 */
function queryFrom(editor) {
  const selection = editor.selection;
  let text = editor.document.getText(selection);
  if (!text.trim()) {
    const range = editor.document.getWordRangeAtPosition(selection.active);
    text = range ? editor.document.getText(range) : "";
  }
  const line =
    text
      .split(LINE_BREAK)
      .map((l) => l.replace(new RegExp(LONE_SURROGATE, "g"), "\uFFFD").replace(CONTROL, " ").trim())
      .find((l) => l.length > 0) || "";
  return Array.from(line).slice(0, MAX_QUERY_CHARS).join("").trimEnd();
}

/**
 * Whether a workspace folder name can go into the link as repo=: the app takes a repository
 * name as one word (no whitespace, quotes or control characters, at most 512 bytes) and
 * refuses the whole link otherwise, so a name it would refuse is left out.
 */
function usableRepoName(name) {
  return (
    typeof name === "string" &&
    name.length > 0 &&
    new TextEncoder().encode(name).length <= 512 &&
    !/[\s"\u0000-\u001F\u007F-\u009F]/.test(name) &&
    !LONE_SURROGATE.test(name)
  );
}

/** The ferret:// link for a query, scoped to the workspace folder's repository. */
function searchLink(query, repo) {
  const params = [`q=${encodeURIComponent(query)}`];
  if (usableRepoName(repo)) params.push(`repo=${encodeURIComponent(repo)}`);
  return `ferret://search?${params.join("&")}`;
}

/**
 * Hands the link to the OS. It is passed as a string, not a vscode.Uri: VS Code opens a
 * string exactly as given, but a Uri is percent-decoded by Uri.parse and re-encoded on the
 * way out (encodeURI(uri.toString(true))), which turns q=a%26b into q=a&b, q=C%2B%2B into
 * q=C++ (a space for the app) and q=%23x into q=%2523x. VS Code keeps strings working for
 * exactly this reason (microsoft/vscode#85930, #112577). A host that refuses a string gets
 * the Uri instead, which is right for everything but & + # ? in the query.
 */
async function openLink(link) {
  try {
    return await vscode.env.openExternal(link);
  } catch {
    return vscode.env.openExternal(vscode.Uri.parse(link, true));
  }
}

async function search() {
  const editor = vscode.window.activeTextEditor;
  if (!editor) {
    vscode.window.showInformationMessage("Ferret: open a file and select something to search for.");
    return;
  }
  const query = queryFrom(editor);
  if (!query) {
    vscode.window.showInformationMessage("Ferret: select some text or put the cursor on a word.");
    return;
  }
  const folder = vscode.workspace.getWorkspaceFolder(editor.document.uri);
  const link = searchLink(query, folder ? folder.name : null);
  let opened = false;
  try {
    opened = await openLink(link);
  } catch {
    // opened stays false
  }
  if (!opened) {
    vscode.window.showErrorMessage("Ferret: could not open the link. Is the Ferret desktop app installed?");
  }
}

function activate(context) {
  context.subscriptions.push(vscode.commands.registerCommand("ferret.search", search));
}

function deactivate() {}

module.exports = { activate, deactivate, queryFrom, searchLink, MAX_QUERY_CHARS };
