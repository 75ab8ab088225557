import { IDLE, reduceIndexing } from "./indexing";

describe("indexing state from events", () => {
  it("tracks repos in arrival order, keeps the engine's rates, and clears when jobs stop", () => {
    const prog = (files_done: number, t: number) => ({
      phase: "chunking" as const, repo: "a", repo_index: 0, repos_total: 2, files_done, files_total: 100, chunks_written: 0, embeddings_done: 0, embeddings_total: 0, elapsed_secs: t, model: null,
    });
    let s = reduceIndexing(IDLE, { type: "jobs", payload: { running: true, paused: false, summary: "x" } });
    s = reduceIndexing(s, { type: "git", payload: { repo: "b", progress: { stage: "receiving", received_objects: 1, total_objects: 2, indexed_deltas: 0, total_deltas: 0, received_bytes: 10 } } });
    s = reduceIndexing(s, { type: "index", payload: { repo: "a", progress: prog(10, 1), overall: { repos_done: 0, repos_total: 2, percent: 5 }, rate: 0, eta_secs: null } });
    s = reduceIndexing(s, { type: "index", payload: { repo: null, progress: prog(30, 3), overall: { repos_done: 0, repos_total: 2, percent: 15 }, rate: 10, eta_secs: 7 } });
    expect(s.order).toEqual(["b", "a"]);
    expect(s.repos.a!.speed).toEqual({ rate: 10, eta_secs: 7 });
    expect(s.overall!.percent).toBe(15);
    const paused = reduceIndexing(s, { type: "jobs", payload: { running: false, paused: true, summary: "" } });
    expect(paused.order).toEqual(["b", "a"]);
    const idle = reduceIndexing(s, { type: "jobs", payload: { running: false, paused: false, summary: "" } });
    expect(idle.order).toEqual([]);
    expect(idle.overall).toBeNull();
  });
});
