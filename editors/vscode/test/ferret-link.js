// How the Ferret app reads a ferret://search link, following its parser
// (crates/engine/src/deeplink.rs): each parameter is percent-decoded once ('+' is a space),
// must be known and appear once, values may hold no control character but the tab, and
// repo/lang/path must be one word without whitespace or quotes. Throws, as the app refuses
// the link, on anything else. The tests use it to check what the app would search for.
"use strict";

const KNOWN = new Set(["q", "repo", "lang", "path", "profile"]);

function percentDecode(text) {
  const bytes = [];
  for (let i = 0; i < text.length; ) {
    const c = text[i];
    if (c === "%") {
      const hex = text.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) throw new Error(`${JSON.stringify(text)} has a malformed %-escape`);
      bytes.push(parseInt(hex, 16));
      i += 3;
    } else if (c === "+") {
      bytes.push(0x20);
      i += 1;
    } else {
      const cp = text.codePointAt(i);
      bytes.push(...Buffer.from(String.fromCodePoint(cp), "utf8"));
      i += cp > 0xffff ? 2 : 1;
    }
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(bytes));
  } catch {
    throw new Error(`${JSON.stringify(text)} does not decode to UTF-8 text`);
  }
}

function checkWord(key, value) {
  if (value === "" || Buffer.byteLength(value) > 512 || /[\s"\u0000-\u001F\u007F-\u009F\u0085]/u.test(value)) {
    throw new Error(`${key}=${JSON.stringify(value)} must be one word without spaces or quotes`);
  }
}

/** The search a ferret://search link asks for: { q, repo, lang, path, profile }. */
function parseSearchLink(link) {
  link = link.trim();
  const sep = link.indexOf("://");
  if (sep < 0) throw new Error("it is not a ferret:// link");
  if (link.slice(0, sep).toLowerCase() !== "ferret") throw new Error("the scheme is not ferret://");
  let rest = link.slice(sep + 3);
  const qmark = rest.indexOf("?");
  let target = qmark < 0 ? rest : rest.slice(0, qmark);
  let query = qmark < 0 ? "" : rest.slice(qmark + 1);
  const hash = query.indexOf("#");
  if (hash >= 0) query = query.slice(0, hash);
  if (target.endsWith("/")) target = target.slice(0, -1);
  if (target.toLowerCase() !== "search") throw new Error(`${JSON.stringify(target)} is not a search link`);

  const params = new Map();
  for (const part of query.split("&").filter((p) => p !== "")) {
    const eq = part.indexOf("=");
    const key = percentDecode(eq < 0 ? part : part.slice(0, eq));
    const value = percentDecode(eq < 0 ? "" : part.slice(eq + 1));
    if (/[\u0000-\u0008\u000A-\u001F\u007F-\u009F]/.test(value)) throw new Error(`${key}= contains control characters`);
    if (params.has(key)) throw new Error(`${key}= appears more than once`);
    params.set(key, value);
  }
  for (const key of params.keys()) {
    if (!KNOWN.has(key)) throw new Error(`unknown parameter ${JSON.stringify(key)}`);
  }
  const get = (key) => (params.get(key) ? params.get(key) : undefined);
  const out = { q: (get("q") || "").trim(), repo: get("repo"), lang: get("lang"), path: get("path"), profile: get("profile") };
  for (const key of ["repo", "lang", "path"]) if (out[key] !== undefined) checkWord(key, out[key]);
  if (!out.q && !out.repo && !out.lang && !out.path) throw new Error("it has nothing to search for (no q=)");
  return out;
}

module.exports = { parseSearchLink, percentDecode };
