/** Mirrors `ferret_engine::SearchHit` (serde field names). */
export interface Highlight {
  line: number;
  start: number;
  end: number;
}

export interface SearchHit {
  repo: string;
  path: string;
  start_line: number;
  end_line: number;
  language: string;
  symbol: string | null;
  kind: string;
  snippet: string;
  snippet_start_line: number;
  highlights: Highlight[];
  score: number;
  lexical_rank: number | null;
  semantic_rank: number | null;
}

export type SearchMode = "hybrid" | "lexical" | "semantic";
