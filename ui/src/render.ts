import type { Highlight, SearchHit } from "./types";

/** Escapes text for safe insertion as HTML. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

/**
 * One snippet line as HTML with its highlights wrapped in <mark>. Highlight columns are
 * UTF-8 byte offsets (they come from Rust), so they are mapped onto the JS string.
 */
export function highlightLine(line: string, highlights: Highlight[]): string {
  const bytes = new TextEncoder().encode(line);
  const decoder = new TextDecoder();
  let html = "";
  let at = 0;
  for (const h of [...highlights].sort((a, b) => a.start - b.start)) {
    if (h.start < at || h.end > bytes.length) continue;
    html += escapeHtml(decoder.decode(bytes.slice(at, h.start)));
    html += `<mark>${escapeHtml(decoder.decode(bytes.slice(h.start, h.end)))}</mark>`;
    at = h.end;
  }
  return html + escapeHtml(decoder.decode(bytes.slice(at)));
}

/** Which rankings found a hit, for the small badge on each result. */
export function foundBy(hit: SearchHit): string {
  if (hit.lexical_rank != null && hit.semantic_rank != null) return "lexical + semantic";
  if (hit.lexical_rank != null) return "lexical";
  if (hit.semantic_rank != null) return "semantic";
  return "";
}

/** The HTML of one result: location header and the snippet with line numbers. */
export function renderHit(hit: SearchHit): string {
  const lines = hit.snippet.split("\n");
  const body = lines
    .map((line, i) => {
      const number = hit.snippet_start_line + i;
      const marks = hit.highlights.filter((h) => h.line === i);
      return `<tr><td class="ln">${number}</td><td class="code">${highlightLine(line, marks) || " "}</td></tr>`;
    })
    .join("");
  const symbol = hit.symbol ? `<span class="symbol">${escapeHtml(hit.symbol)}</span>` : "";
  return `<li class="hit">
  <div class="hit-head">
    <span class="loc"><span class="repo">${escapeHtml(hit.repo)}</span>/${escapeHtml(hit.path)}<span class="lines">:${hit.start_line}–${hit.end_line}</span></span>
    ${symbol}
    <span class="badge">${escapeHtml(hit.language)}</span>
    <span class="badge subtle">${foundBy(hit)}</span>
  </div>
  <table class="snippet"><tbody>${body}</tbody></table>
</li>`;
}

/** Calls `fn` once typing has paused for `ms`. */
export function debounce<A extends unknown[]>(fn: (...args: A) => void, ms: number): (...args: A) => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return (...args: A) => {
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}
