/**
 * A small hand-written syntax highlighter (keywords, strings, comments, numbers) and the merge
 * of engine match highlights into it. Output is a list of plain-text segments rendered as text
 * nodes, never as HTML, so nothing in a snippet can inject markup.
 */
import type { Highlight } from "../api";

export type TokenClass = "kw" | "str" | "com" | "num" | "ty";

export interface Segment {
  text: string;
  cls?: TokenClass;
  mark?: boolean;
}

interface LangSpec {
  keywords: Set<string>;
  line: string[];
  block?: [string, string];
  quotes: string[];
  /** Strings delimited by three quotes (Python). */
  triple?: boolean;
}

const words = (s: string) => new Set(s.split(/\s+/).filter(Boolean));

const C_LIKE_TYPES = "int char float double void bool long short unsigned signed";
const SPECS: Record<string, LangSpec> = {
  rust: {
    keywords: words(
      "as async await break const continue crate dyn else enum extern false fn for if impl in let loop match mod move mut pub ref return self Self static struct super trait true type unsafe use where while Some None Ok Err",
    ),
    line: ["//"], block: ["/*", "*/"], quotes: ['"', "'"],
  },
  typescript: {
    keywords: words(
      "abstract any as async await boolean break case catch class const continue default delete do else enum export extends false finally for from function if implements import in instanceof interface let new null number of private protected public readonly return static string super switch this throw true try type typeof undefined var void while yield",
    ),
    line: ["//"], block: ["/*", "*/"], quotes: ['"', "'", "`"],
  },
  python: {
    keywords: words(
      "and as assert async await break class continue def del elif else except False finally for from global if import in is lambda None nonlocal not or pass raise return True try while with yield self",
    ),
    line: ["#"], quotes: ['"', "'"], triple: true,
  },
  go: {
    keywords: words(
      "break case chan const continue default defer else fallthrough for func go goto if import interface map package range return select struct switch type var nil true false error string int bool",
    ),
    line: ["//"], block: ["/*", "*/"], quotes: ['"', "`", "'"],
  },
  java: {
    keywords: words(
      "abstract boolean break byte case catch char class const continue default do double else enum extends final finally float for if implements import instanceof int interface long new null package private protected public return short static super switch this throw throws true false try void volatile while var",
    ),
    line: ["//"], block: ["/*", "*/"], quotes: ['"', "'"],
  },
  c: {
    keywords: words(
      `auto break case const continue default do else enum extern for goto if inline register return sizeof static struct switch typedef union volatile while NULL true false ${C_LIKE_TYPES} class namespace template typename public private protected virtual override new delete this nullptr using auto constexpr`,
    ),
    line: ["//"], block: ["/*", "*/"], quotes: ['"', "'"],
  },
  csharp: {
    keywords: words(
      "abstract as async await base bool break case catch class const continue default do else enum event false finally for foreach if in int interface internal is namespace new null override private protected public readonly return sealed static string struct switch this throw true try using var virtual void while",
    ),
    line: ["//"], block: ["/*", "*/"], quotes: ['"', "'"],
  },
  ruby: {
    keywords: words("alias and begin break case class def do else elsif end ensure false for if in module next nil not or redo rescue retry return self super then true unless until when while yield require"),
    line: ["#"], quotes: ['"', "'"],
  },
  php: {
    keywords: words("abstract array as break case catch class const continue default do echo else elseif extends false final for foreach function if implements interface namespace new null private protected public return static switch throw true try use var while"),
    line: ["//", "#"], block: ["/*", "*/"], quotes: ['"', "'"],
  },
  bash: {
    keywords: words("if then else elif fi for while do done case esac function in return local export echo exit set"),
    line: ["#"], quotes: ['"', "'"],
  },
  toml: { keywords: words("true false"), line: ["#"], quotes: ['"', "'"] },
  yaml: { keywords: words("true false null yes no"), line: ["#"], quotes: ['"', "'"] },
  json: { keywords: words("true false null"), line: [], quotes: ['"'] },
};

const ALIASES: Record<string, string> = {
  rs: "rust", ts: "typescript", tsx: "typescript", javascript: "typescript", js: "typescript", jsx: "typescript",
  py: "python", golang: "go", cpp: "c", "c++": "c", cc: "c", h: "c", hpp: "c", cs: "csharp", "c#": "csharp",
  rb: "ruby", sh: "bash", shell: "bash", zsh: "bash", yml: "yaml", kotlin: "java", scala: "java", swift: "java",
};

export function specFor(language: string): LangSpec | null {
  const l = language.toLowerCase();
  return SPECS[l] ?? SPECS[ALIASES[l] ?? ""] ?? null;
}

/** Carries a block comment or triple-quoted string across lines. */
export interface LineState {
  inBlock?: string; // the closing delimiter we are waiting for
}

/** Tokenizes one line; `state` is updated for the next line. */
export function tokenizeLine(line: string, language: string, state: LineState = {}): Segment[] {
  const spec = specFor(language);
  if (!spec) return line ? [{ text: line }] : [];
  const out: Segment[] = [];
  const push = (text: string, cls?: TokenClass) => {
    if (!text) return;
    const last = out[out.length - 1];
    if (last && last.cls === cls) last.text += text;
    else out.push(cls ? { text, cls } : { text });
  };
  let i = 0;
  if (state.inBlock) {
    const end = line.indexOf(state.inBlock);
    const cls: TokenClass = state.inBlock === "*/" ? "com" : "str";
    if (end < 0) {
      push(line, cls);
      return out;
    }
    push(line.slice(0, end + state.inBlock.length), cls);
    i = end + state.inBlock.length;
    state.inBlock = undefined;
  }
  while (i < line.length) {
    const rest = line.slice(i);
    if (spec.line.some((p) => rest.startsWith(p))) {
      push(rest, "com");
      break;
    }
    if (spec.block && rest.startsWith(spec.block[0])) {
      const end = line.indexOf(spec.block[1], i + spec.block[0].length);
      if (end < 0) {
        push(rest, "com");
        state.inBlock = spec.block[1];
        break;
      }
      push(line.slice(i, end + spec.block[1].length), "com");
      i = end + spec.block[1].length;
      continue;
    }
    const c = line[i]!;
    if (spec.triple && (rest.startsWith('"""') || rest.startsWith("'''"))) {
      const q = rest.slice(0, 3);
      const end = line.indexOf(q, i + 3);
      if (end < 0) {
        push(rest, "str");
        state.inBlock = q;
        break;
      }
      push(line.slice(i, end + 3), "str");
      i = end + 3;
      continue;
    }
    if (spec.quotes.includes(c)) {
      // Rust lifetimes ('a) are not strings.
      if (c === "'" && spec === SPECS.rust && /^'[A-Za-z_]\w*(?!')/.test(rest) && !/^'.'/.test(rest)) {
        push(c);
        i++;
        continue;
      }
      let j = i + 1;
      while (j < line.length && line[j] !== c) j += line[j] === "\\" ? 2 : 1;
      push(line.slice(i, Math.min(j + 1, line.length)), "str");
      i = j + 1;
      continue;
    }
    if (/[0-9]/.test(c) && !/[\w$]/.test(line[i - 1] ?? "")) {
      const m = /^(0x[0-9a-fA-F_]+|[0-9][0-9_]*(\.[0-9_]+)?([eE][+-]?[0-9]+)?)[a-zA-Z0-9]*/.exec(rest)!;
      push(m[0], "num");
      i += m[0].length;
      continue;
    }
    if (/[A-Za-z_$]/.test(c)) {
      const m = /^[A-Za-z_$][\w$]*/.exec(rest)!;
      const w = m[0];
      push(w, spec.keywords.has(w) ? "kw" : /^[A-Z][a-z0-9]+[A-Za-z0-9]*$/.test(w) ? "ty" : undefined);
      i += w.length;
      continue;
    }
    push(c);
    i++;
  }
  return out;
}

/** Maps a UTF-8 byte offset within `line` to a UTF-16 index (what JS strings use). */
export function byteToIndex(line: string, byte: number): number {
  let bytes = 0;
  let i = 0;
  while (i < line.length && bytes < byte) {
    const cp = line.codePointAt(i)!;
    bytes += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    i += cp > 0xffff ? 2 : 1;
  }
  return i;
}

/** Splits segments so that the [start, end) character ranges are marked. */
export function applyMarks(segments: Segment[], ranges: [number, number][]): Segment[] {
  if (!ranges.length) return segments;
  const out: Segment[] = [];
  let pos = 0;
  for (const seg of segments) {
    const cuts = new Set<number>([0, seg.text.length]);
    for (const [s, e] of ranges) {
      if (s > pos && s < pos + seg.text.length) cuts.add(s - pos);
      if (e > pos && e < pos + seg.text.length) cuts.add(e - pos);
    }
    const points = [...cuts].sort((a, b) => a - b);
    for (let k = 0; k < points.length - 1; k++) {
      const a = points[k]!;
      const b = points[k + 1]!;
      const text = seg.text.slice(a, b);
      const mark = ranges.some(([s, e]) => pos + a >= s && pos + b <= e);
      out.push({ ...seg, text, ...(mark ? { mark: true } : {}) });
    }
    pos += seg.text.length;
  }
  return out;
}

/** Syntax-highlighted, match-marked segments for each line of a snippet. */
export function highlightSnippet(snippet: string, language: string, highlights: Highlight[]): Segment[][] {
  const state: LineState = {};
  return snippet.split("\n").map((line, n) => {
    const ranges = highlights
      .filter((h) => h.line === n && h.end > h.start)
      .map((h) => [byteToIndex(line, h.start), byteToIndex(line, h.end)] as [number, number]);
    return applyMarks(tokenizeLine(line, language, state), ranges);
  });
}
