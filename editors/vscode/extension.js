// "Search in Ferret": opens ferret://search?q=<selection or word>&repo=<workspace folder>
// in the Ferret desktop app. No dependencies, no build step.
"use strict";
const vscode = require("vscode");

/** The selected text, else the word under the cursor, trimmed to one line. */
function queryFrom(editor) {
  const selection = editor.selection;
  let text = editor.document.getText(selection);
  if (!text.trim()) {
    const range = editor.document.getWordRangeAtPosition(selection.active);
    text = range ? editor.document.getText(range) : "";
  }
  const line = text.split(/\r?\n/).map((l) => l.trim()).find((l) => l.length > 0) || "";
  return line.slice(0, 200);
}

/** The ferret:// link for a query, scoped to the workspace folder's repository. */
function searchLink(query, repo) {
  const params = [`q=${encodeURIComponent(query)}`];
  if (repo && !/\s/.test(repo)) params.push(`repo=${encodeURIComponent(repo)}`);
  return `ferret://search?${params.join("&")}`;
}

function activate(context) {
  context.subscriptions.push(
    vscode.commands.registerCommand("ferret.search", async () => {
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
      const opened = await vscode.env.openExternal(vscode.Uri.parse(link, true));
      if (!opened) {
        vscode.window.showErrorMessage("Ferret: could not open the link. Is the Ferret desktop app installed?");
      }
    }),
  );
}

function deactivate() {}

module.exports = { activate, deactivate, queryFrom, searchLink };
