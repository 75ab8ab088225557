/** Query syntax chips (`repo:` `lang:` `path:` `-path:`) and autocomplete, after GitHub code search. */

import { LANGUAGES } from "../generated/contract";

export type ChipKey = "repo" | "lang" | "path" | "-path";

export interface Chip {
  key: ChipKey;
  value: string;
}

const QUALIFIER = /^(-?)(repo|lang|path):(.+)$/i;

/** Splits on whitespace, keeping "quoted phrases" (and key:"quoted values") together. */
export function tokenize(text: string): string[] {
  const tokens: string[] = [];
  let current = "";
  let quoted = false;
  for (const c of text) {
    if (c === '"') quoted = !quoted;
    if (!quoted && /\s/.test(c)) {
      if (current) tokens.push(current);
      current = "";
    } else current += c;
  }
  if (current) tokens.push(current);
  return tokens;
}

/** A single token as a chip, or null when it is plain search text. */
export function tokenToChip(token: string): Chip | null {
  const m = QUALIFIER.exec(token);
  if (!m) return null;
  // `file::open` is code, not a qualifier (the engine treats it the same way).
  if (m[3]!.startsWith(":")) return null;
  const key = ((m[1] ? "-" : "") + m[2]!.toLowerCase()) as ChipKey;
  if (key === "-path" || m[1] === "") return { key, value: unquote(m[3]!) };
  return null; // -repo: / -lang: are not part of the syntax: keep as text
}

function unquote(v: string): string {
  return v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v;
}

export function chipToString(chip: Chip): string {
  const v = /\s/.test(chip.value) ? `"${chip.value}"` : chip.value;
  return `${chip.key}:${v}`;
}

/** Parses a whole query into chips and the remaining free text. */
export function parseQuery(query: string): { chips: Chip[]; text: string } {
  const chips: Chip[] = [];
  const rest: string[] = [];
  for (const t of tokenize(query)) {
    const chip = tokenToChip(t);
    if (chip) chips.push(chip);
    else rest.push(t);
  }
  return { chips, text: rest.join(" ") };
}

/**
 * While typing: turns every *finished* qualifier (one followed by whitespace) into a chip and
 * leaves the token under the cursor (the last one, unfinished) in the text. Returns the input
 * unchanged (and no chips) when there is nothing to extract, so the caret never jumps.
 */
export function extractChips(input: string): { chips: Chip[]; text: string } {
  const openQuote = (input.match(/"/g)?.length ?? 0) % 2 === 1;
  const tokens = tokenize(input);
  const finished = /\s$/.test(input) && !openQuote ? tokens.length : tokens.length - 1;
  const chips: Chip[] = [];
  const rest: string[] = [];
  tokens.forEach((t, i) => {
    const chip = i < finished ? tokenToChip(t) : null;
    if (chip) chips.push(chip);
    else rest.push(t);
  });
  if (!chips.length) return { chips, text: input };
  let text = rest.join(" ");
  if (finished === tokens.length && text) text += " ";
  return { chips, text };
}

/** The full query string sent to the engine. */
export function buildQuery(chips: Chip[], text: string): string {
  return [...chips.map(chipToString), text.trim()].filter(Boolean).join(" ").trim();
}

export function addChip(chips: Chip[], chip: Chip): Chip[] {
  return chips.some((c) => c.key === chip.key && c.value === chip.value) ? chips : [...chips, chip];
}

export interface Completion {
  key: "repo" | "lang";
  /** What the user typed after the colon. */
  prefix: string;
  options: string[];
}


/**
 * Suggestions for the unfinished last token when it is `repo:` or `lang:`: repo names that
 * contain the prefix (prefix matches first), language names or aliases that start with it.
 */
export function complete(text: string, repos: string[], max = 8): Completion | null {
  const m = /(?:^|\s)(repo|lang):(\S*)$/i.exec(text);
  if (!m) return null;
  const key = m[1]!.toLowerCase() as "repo" | "lang";
  const prefix = m[2]!.toLowerCase();
  let options: string[];
  if (key === "repo") {
    const starts = repos.filter((r) => r.toLowerCase().startsWith(prefix) || r.toLowerCase().split("/").pop()!.startsWith(prefix));
    const contains = repos.filter((r) => !starts.includes(r) && r.toLowerCase().includes(prefix));
    options = [...starts, ...contains];
  } else {
    options = LANGUAGES.filter(([name, aliases]) => name.startsWith(prefix) || aliases.some((a) => a.startsWith(prefix))).map(
      ([name]) => name,
    );
  }
  options = options.filter((o) => o.toLowerCase() !== prefix || prefix === "").slice(0, max);
  if (!options.length) return null;
  return { key, prefix, options };
}

/** Replaces the unfinished `key:prefix` at the end of `text` with a chip. */
export function acceptCompletion(chips: Chip[], text: string, c: Completion, option: string): { chips: Chip[]; text: string } {
  const rest = text.replace(/(?:^|\s)(repo|lang):(\S*)$/i, "").trimEnd();
  return { chips: addChip(chips, { key: c.key, value: option }), text: rest ? rest + " " : "" };
}
