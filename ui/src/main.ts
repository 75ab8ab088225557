import { invoke } from "@tauri-apps/api/core";
import { debounce, escapeHtml, renderHit } from "./render";
import type { SearchHit, SearchMode } from "./types";

const input = document.querySelector<HTMLInputElement>("#query")!;
const mode = document.querySelector<HTMLSelectElement>("#mode")!;
const results = document.querySelector<HTMLOListElement>("#results")!;
const status = document.querySelector<HTMLParagraphElement>("#status")!;

const EMPTY_HINT =
  "No repositories indexed yet: run <code>ferret repo add PATH</code> then <code>ferret index</code>, and search here.";

let generation = 0;

async function runSearch(): Promise<void> {
  const query = input.value.trim();
  const mine = ++generation;
  if (!query) {
    results.innerHTML = "";
    status.innerHTML = "Type to search. Try <code>lang:rust parse args</code> or a question in plain words.";
    return;
  }
  status.textContent = "Searching…";
  const started = performance.now();
  try {
    const hits = await invoke<SearchHit[]>("search", { query, mode: mode.value as SearchMode, limit: 30 });
    if (mine !== generation) return; // a newer search is on its way
    const ms = Math.round(performance.now() - started);
    results.innerHTML = hits.map(renderHit).join("");
    status.innerHTML = hits.length
      ? `${hits.length} result${hits.length === 1 ? "" : "s"} in ${ms} ms`
      : `No results for <b>${escapeHtml(query)}</b>. ${EMPTY_HINT}`;
  } catch (err) {
    if (mine !== generation) return;
    results.innerHTML = "";
    status.innerHTML = `<span class="error">${escapeHtml(String(err))}</span>`;
  }
}

const searchSoon = debounce(runSearch, 150);
input.addEventListener("input", searchSoon);
mode.addEventListener("change", runSearch);
document.querySelector("#search-form")!.addEventListener("submit", (e) => {
  e.preventDefault();
  void runSearch();
});
void runSearch();
