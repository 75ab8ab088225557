// A fake `vscode` module: just the API surface extension.js uses, plus a recording of what
// the extension did (links opened, messages shown). Where VS Code's behaviour matters to the
// result (how a Uri is decoded and re-encoded on its way to the OS) it is modelled on VS
// Code's own rules, described at each place.
"use strict";

class Position {
  constructor(line, character) {
    this.line = line;
    this.character = character;
  }
}

class Range {
  constructor(start, end) {
    this.start = start;
    this.end = end;
  }
  get isEmpty() {
    return this.start.line === this.end.line && this.start.character === this.end.character;
  }
}

class Selection extends Range {
  constructor(anchor, active) {
    const forward =
      anchor.line < active.line || (anchor.line === active.line && anchor.character <= active.character);
    super(forward ? anchor : active, forward ? active : anchor);
    this.anchor = anchor;
    this.active = active;
  }
}

// --- vscode.Uri ------------------------------------------------------------------------
// VS Code's URI splits a string into scheme, authority, path, query and fragment and
// percent-decodes each of them (every run of %XX, leaving bad escapes as they are).
// toString() encodes them again; toString(true) ("skip encoding") escapes only '#' and '?'.

const URI_PARTS = /^(([^:/?#]+?):)?(\/\/([^/?#]*))?([^?#]*)(\?([^#]*))?(#(.*))?/;

function decodeGraceful(run) {
  try {
    return decodeURIComponent(run);
  } catch {
    return run.length > 3 ? run.slice(0, 3) + decodeGraceful(run.slice(3)) : run;
  }
}

function percentDecode(text) {
  return text.replace(/(%[0-9A-Za-z][0-9A-Za-z])+/g, decodeGraceful);
}

function encodeMinimal(text) {
  return text.replace(/[#?]/g, (c) => encodeURIComponent(c));
}

class Uri {
  constructor(scheme, authority, path, query, fragment) {
    this.scheme = scheme;
    this.authority = authority;
    this.path = path;
    this.query = query;
    this.fragment = fragment;
  }

  static parse(value, strict = false) {
    const m = URI_PARTS.exec(value);
    if (!m || (strict && !m[2])) {
      throw new Error(`[UriError]: Scheme is missing: {scheme: "", path: "${value}"}`);
    }
    return new Uri(
      m[2] || "file",
      percentDecode(m[4] || ""),
      percentDecode(m[5] || ""),
      percentDecode(m[7] || ""),
      percentDecode(m[9] || ""),
    );
  }

  static from({ scheme, authority = "", path = "", query = "", fragment = "" }) {
    return new Uri(scheme, authority, path, query, fragment);
  }

  static file(path) {
    return new Uri("file", "", path, "", "");
  }

  toString(skipEncoding = false) {
    const enc = skipEncoding ? encodeMinimal : encodeURIComponent;
    let out = `${this.scheme}:`;
    if (this.authority || this.scheme === "file") out += `//${enc(this.authority)}`;
    out += skipEncoding ? encodeMinimal(this.path) : this.path.split("/").map(enc).join("/");
    if (this.query) out += `?${enc(this.query)}`;
    if (this.fragment) out += `#${enc(this.fragment)}`;
    return out;
  }
}

/**
 * What the OS is handed for openExternal(target), as VS Code's opener service does it: a
 * string goes out exactly as given; a Uri goes out as encodeURI(uri.toString(true)).
 */
function hrefForOpenExternal(target) {
  if (typeof target === "string") {
    Uri.parse(target); // VS Code parses it too, and refuses what does not parse
    return target;
  }
  if (target instanceof Uri) return encodeURI(target.toString(true));
  throw new TypeError(`openExternal wants a Uri, got ${typeof target}`);
}

// --- text documents and editors --------------------------------------------------------

/** VS Code's default word definition (what getWordRangeAtPosition uses for plain text). */
const WORD = /(-?\d*\.\d\w*)|([^`~!@#$%^&*()\-=+[{\]}\\|;:'",.<>/?\s]+)/g;

class TextDocument {
  constructor(text, uri) {
    this.text = text;
    this.uri = uri;
    // Start offset of every line; a line ends at CRLF, CR or LF.
    this.lineStarts = [0];
    const breaks = /\r\n|\r|\n/g;
    let m;
    while ((m = breaks.exec(text))) this.lineStarts.push(m.index + m[0].length);
  }

  lineText(line) {
    const start = this.lineStarts[line];
    const next = line + 1 < this.lineStarts.length ? this.lineStarts[line + 1] : this.text.length;
    return this.text.slice(start, next).replace(/(\r\n|\r|\n)$/, "");
  }

  positionAt(offset) {
    let line = 0;
    while (line + 1 < this.lineStarts.length && this.lineStarts[line + 1] <= offset) line++;
    return new Position(line, offset - this.lineStarts[line]);
  }

  offsetAt(position) {
    return this.lineStarts[position.line] + position.character;
  }

  getText(range) {
    if (!range) return this.text;
    return this.text.slice(this.offsetAt(range.start), this.offsetAt(range.end));
  }

  getWordRangeAtPosition(position) {
    const line = this.lineText(position.line);
    WORD.lastIndex = 0;
    let m;
    while ((m = WORD.exec(line))) {
      const start = m.index;
      const end = start + m[0].length;
      if (start <= position.character && position.character <= end) {
        return new Range(new Position(position.line, start), new Position(position.line, end));
      }
      if (start > position.character) break;
    }
    return undefined;
  }
}

/**
 * An editor on `source`, where « and » mark the selection (anchor «, active »: write »...«
 * for a selection made backwards) and ‸ marks the cursor when nothing is selected.
 */
function makeEditor(source, uri = Uri.file("/work/api/src/retry.rs")) {
  const marks = {};
  let text = "";
  for (const ch of source) {
    if (ch === "«" || ch === "»" || ch === "‸") marks[ch] = text.length;
    else text += ch;
  }
  const doc = new TextDocument(text, uri);
  let anchor;
  let active;
  if ("‸" in marks) {
    anchor = active = marks["‸"];
  } else if ("«" in marks && "»" in marks) {
    anchor = marks["«"];
    active = marks["»"];
  } else {
    throw new Error(`makeEditor: mark the cursor (‸) or the selection («...») in ${JSON.stringify(source)}`);
  }
  return { document: doc, selection: new Selection(doc.positionAt(anchor), doc.positionAt(active)) };
}

// --- the module ------------------------------------------------------------------------

/**
 * A fresh fake `vscode` module.
 *   editor        the active text editor (undefined: none)
 *   folder        the workspace folder name for the editor's document (undefined: none)
 *   openResult    what openExternal resolves to (true), or an Error to reject with
 *   refuseStrings openExternal rejects a string target, as a host that only takes Uris might
 */
function createVscode({ editor, folder, openResult = true, refuseStrings = false } = {}) {
  const record = { commands: new Map(), opened: [], info: [], errors: [], disposed: [] };
  const vscode = {
    Position,
    Range,
    Selection,
    Uri,
    commands: {
      registerCommand(id, callback) {
        if (record.commands.has(id)) throw new Error(`command '${id}' already exists`);
        record.commands.set(id, callback);
        return { dispose: () => record.disposed.push(id) };
      },
    },
    window: {
      activeTextEditor: editor,
      async showInformationMessage(message) {
        record.info.push(message);
      },
      async showErrorMessage(message) {
        record.errors.push(message);
      },
    },
    workspace: {
      getWorkspaceFolder(uri) {
        if (folder === undefined || !editor || uri !== editor.document.uri) return undefined;
        return { name: folder, index: 0, uri: Uri.file(`/work/${folder}`) };
      },
    },
    env: {
      async openExternal(target) {
        if (refuseStrings && typeof target === "string") throw new Error("Invalid argument: uri");
        const href = hrefForOpenExternal(target);
        record.opened.push({ target, href });
        if (openResult instanceof Error) throw openResult;
        return openResult;
      },
    },
  };
  return { vscode, record };
}

module.exports = { createVscode, makeEditor, hrefForOpenExternal, Uri, Position, Range, Selection };
