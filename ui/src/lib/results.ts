/** Grouping search hits by file, and the keyboard navigation state over them. */
import type { SearchHit } from "../api";

export interface FileGroup {
  key: string;
  repo: string;
  path: string;
  language: string;
  /** Hits in this file, top to bottom by line. */
  hits: SearchHit[];
  /** Index (into the flat visual order) of this group's first hit. */
  offset: number;
}

/**
 * Groups hits by (repo, path). Groups appear in the order of their best hit, so the
 * ranking is kept; within a file, hits are shown top to bottom by line.
 */
export function groupByFile(hits: SearchHit[]): FileGroup[] {
  const groups = new Map<string, FileGroup>();
  for (const hit of hits) {
    const key = `${hit.repo}\u0000${hit.path}`;
    let g = groups.get(key);
    if (!g) {
      g = { key, repo: hit.repo, path: hit.path, language: hit.language, hits: [], offset: 0 };
      groups.set(key, g);
    }
    g.hits.push(hit);
  }
  let offset = 0;
  const out = [...groups.values()];
  for (const g of out) {
    g.hits.sort((a, b) => a.start_line - b.start_line);
    g.offset = offset;
    offset += g.hits.length;
  }
  return out;
}

/**
 * Where the engine's best hit lands in the visual order: the hit selected (and previewed, and
 * opened by Enter) when results arrive. Not simply 0: lines are sorted within a file, so the
 * best hit of the first file is not always its first row.
 */
export function bestHitIndex(hits: SearchHit[]): number {
  if (hits.length === 0) return -1;
  return visualOrder(groupByFile(hits)).indexOf(hits[0]!);
}

/**
 * The line an editor should open at: the first line with a match, as grep would report it,
 * else the chunk's first line (a semantic-only hit has no matched words).
 */
export function targetLine(hit: SearchHit): number {
  const lines = hit.highlights.map((h) => h.line);
  return lines.length ? hit.snippet_start_line + Math.min(...lines) : hit.start_line;
}

/** Hits in the order they are displayed (what ↑/↓ walks through). */
export function visualOrder(groups: FileGroup[]): SearchHit[] {
  return groups.flatMap((g) => g.hits);
}

export type NavKey = "ArrowDown" | "ArrowUp" | "Home" | "End" | "PageDown" | "PageUp";

/** The next selected index after a navigation key; -1 means nothing selected. */
export function navigate(selected: number, count: number, key: NavKey): number {
  if (count === 0) return -1;
  switch (key) {
    case "ArrowDown":
      return selected < 0 ? 0 : Math.min(selected + 1, count - 1);
    case "ArrowUp":
      return selected <= 0 ? 0 : selected - 1;
    case "Home":
      return 0;
    case "End":
      return count - 1;
    case "PageDown":
      return Math.min(Math.max(selected, 0) + 10, count - 1);
    case "PageUp":
      return Math.max(selected - 10, 0);
  }
}

/**
 * Which ranking(s) found a hit, for the badge, and why it ranks where it does (the ranking
 * stage's signals) for its tooltip. A hit neither ranking found is a definition the
 * ranking stage looked up by the name the query uses.
 */
export function foundBy(hit: SearchHit): { label: string; title: string } {
  const parts: string[] = [];
  if (hit.lexical_rank != null) parts.push(`lexical #${hit.lexical_rank}`);
  if (hit.semantic_rank != null) parts.push(`semantic #${hit.semantic_rank}`);
  if (parts.length === 0) parts.push("definition of a name in the query");
  const label =
    hit.lexical_rank != null && hit.semantic_rank != null
      ? "both"
      : hit.lexical_rank != null
        ? "lexical"
        : hit.semantic_rank != null
          ? "semantic"
          : "definition";
  const why = (hit.signals ?? []).map((s) => `\nwhy: ${s.detail} (${s.change >= 0 ? "+" : ""}${s.change.toFixed(3)})`);
  return { label, title: parts.join(", ") + ` · score ${hit.score.toFixed(4)}` + why.join("") };
}
