import type { SearchHit } from "../api";
import { bestHitIndex, foundBy, groupByFile, navigate, targetLine, visualOrder } from "./results";

export function hit(over: Partial<SearchHit>): SearchHit {
  return {
    repo: "r", path: "a.rs", start_line: 1, end_line: 2, language: "rust", symbol: null, kind: "function",
    snippet: "fn a() {}", snippet_start_line: 1, highlights: [], score: 0.5, lexical_rank: 1, semantic_rank: null, chunk_id: 1, stale: false, signals: [],
    ...over,
  };
}

describe("grouping by file", () => {
  it("groups in order of best hit and sorts hits by line within a file", () => {
    const hits = [
      hit({ path: "b.rs", start_line: 40, chunk_id: 1 }),
      hit({ path: "a.rs", start_line: 5, chunk_id: 2 }),
      hit({ path: "b.rs", start_line: 3, chunk_id: 3 }),
      hit({ repo: "other", path: "b.rs", chunk_id: 4 }),
    ];
    const groups = groupByFile(hits);
    expect(groups.map((g) => `${g.repo}/${g.path}`)).toEqual(["r/b.rs", "r/a.rs", "other/b.rs"]);
    expect(groups[0]!.hits.map((h) => h.chunk_id)).toEqual([3, 1]);
    expect(groups.map((g) => g.offset)).toEqual([0, 2, 3]);
    expect(visualOrder(groups).map((h) => h.chunk_id)).toEqual([3, 1, 2, 4]);
  });
});

describe("the first selection", () => {
  it("is the engine's best hit, wherever line order puts it in its file", () => {
    const hits = [
      hit({ path: "ring_buffer.c", start_line: 17, chunk_id: 1 }),
      hit({ path: "ring_buffer.c", start_line: 8, chunk_id: 2 }),
      hit({ path: "ring_buffer.c", start_line: 1, chunk_id: 3 }),
      hit({ path: "other.c", start_line: 1, chunk_id: 4 }),
    ];
    expect(bestHitIndex(hits)).toBe(2);
    expect(visualOrder(groupByFile(hits))[bestHitIndex(hits)]!.chunk_id).toBe(1);
    expect(bestHitIndex([])).toBe(-1);
  });
});

describe("the line to open", () => {
  it("is the first matched line, else the chunk's first line", () => {
    const h = hit({ start_line: 17, snippet_start_line: 17, highlights: [{ line: 3, start: 0, end: 4 }, { line: 1, start: 5, end: 9 }] });
    expect(targetLine(h)).toBe(18);
    expect(targetLine(hit({ start_line: 40, snippet_start_line: 40, highlights: [] }))).toBe(40);
  });
});

describe("keyboard navigation", () => {
  it("moves and clamps", () => {
    expect(navigate(-1, 5, "ArrowDown")).toBe(0);
    expect(navigate(0, 5, "ArrowDown")).toBe(1);
    expect(navigate(4, 5, "ArrowDown")).toBe(4);
    expect(navigate(0, 5, "ArrowUp")).toBe(0);
    expect(navigate(3, 5, "ArrowUp")).toBe(2);
    expect(navigate(2, 5, "End")).toBe(4);
    expect(navigate(2, 5, "Home")).toBe(0);
    expect(navigate(1, 30, "PageDown")).toBe(11);
    expect(navigate(5, 30, "PageUp")).toBe(0);
    expect(navigate(3, 0, "ArrowDown")).toBe(-1);
  });
});

describe("found by", () => {
  it("names the ranking(s)", () => {
    expect(foundBy(hit({ lexical_rank: 2, semantic_rank: 7 })).label).toBe("both");
    expect(foundBy(hit({ lexical_rank: null, semantic_rank: 1 })).label).toBe("semantic");
    expect(foundBy(hit({ lexical_rank: null, semantic_rank: null })).label).toBe("definition");
    const why = foundBy(
      hit({ signals: [{ signal: "prior", detail: "test file", change: -0.25 }, { signal: "definition", detail: "defines Parser", change: 1.5 }] }),
    ).title;
    expect(why).toContain("why: test file (-0.250)");
    expect(why).toContain("why: defines Parser (+1.500)");
    expect(foundBy(hit({})).title).toContain("lexical #1");
  });
});
