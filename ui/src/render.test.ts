import { describe, expect, it, vi } from "vitest";
import { debounce, escapeHtml, foundBy, highlightLine, renderHit } from "./render";
import type { SearchHit } from "./types";

const hit: SearchHit = {
  repo: "demo",
  path: "src/main.rs",
  start_line: 10,
  end_line: 12,
  language: "rust",
  symbol: "parse_args",
  kind: "function",
  snippet: "fn parse_args() {\n    let café = \"<b>\";\n}",
  snippet_start_line: 10,
  highlights: [{ line: 0, start: 3, end: 13 }],
  score: 0.03,
  lexical_rank: 1,
  semantic_rank: 4,
};

describe("render", () => {
  it("escapes html", () => {
    expect(escapeHtml(`<a href="x">&'`)).toBe("&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
  });

  it("marks highlights by utf-8 byte offsets", () => {
    expect(highlightLine("fn parse_args() {", [{ line: 0, start: 3, end: 13 }])).toBe("fn <mark>parse_args</mark>() {");
    // "é" is two bytes: the highlight after it must still land on "x".
    expect(highlightLine("café x", [{ line: 0, start: 6, end: 7 }])).toBe("café <mark>x</mark>");
    // Out-of-range highlights are ignored, not thrown.
    expect(highlightLine("ab", [{ line: 0, start: 1, end: 9 }])).toBe("ab");
  });

  it("renders a hit with line numbers, escaped code and its provenance", () => {
    const html = renderHit(hit);
    expect(html).toContain("src/main.rs");
    expect(html).toContain(":10–12");
    expect(html).toContain('<td class="ln">11</td>');
    expect(html).toContain("&lt;b&gt;");
    expect(html).not.toContain("<b>");
    expect(foundBy(hit)).toBe("lexical + semantic");
    expect(foundBy({ ...hit, lexical_rank: null })).toBe("semantic");
  });

  it("debounces", () => {
    vi.useFakeTimers();
    const fn = vi.fn();
    const d = debounce(fn, 100);
    d(1);
    d(2);
    vi.advanceTimersByTime(99);
    expect(fn).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(fn).toHaveBeenCalledWith(2);
    vi.useRealTimers();
  });
});
