import type { Progress } from "../api";
import { relativeTime, formatDuration, formatBytes, slugify } from "./format";
import { gitFraction, percentSemantic, phaseFraction, progressRate } from "./progress";

const p = (over: Partial<Progress>): Progress => ({
  phase: "chunking", repo: "r", repo_index: 0, repos_total: 1, files_done: 0, files_total: 100, chunks_written: 0, embeddings_done: 0, embeddings_total: 0, elapsed_secs: 0, model: null, ...over,
});

describe("progress math", () => {
  it("shows the engine's rate and ETA in the unit of the phase", () => {
    expect(progressRate(p({ files_done: 20 }), { rate: 10, eta_secs: 8 })).toEqual({ rate: 10, unit: "files/s", eta: 8 });
    const r = progressRate(p({ phase: "embedding", embeddings_done: 1100, embeddings_total: 2000 }), { rate: 10, eta_secs: 90 });
    expect(r).toEqual({ rate: 10, unit: "chunks/s", eta: 90 });
    expect(progressRate(p({ phase: "done" }), { rate: 10, eta_secs: 0 })).toEqual({ rate: null, unit: "", eta: 0 });
  });
  it("has no rate or ETA before the engine measured one", () => {
    expect(progressRate(p({}), undefined)).toEqual({ rate: null, unit: "files/s", eta: null });
    expect(progressRate(p({}), { rate: 0, eta_secs: null })).toEqual({ rate: null, unit: "files/s", eta: null });
  });
  it("percent semantic rounds down and reaches 100 only when complete", () => {
    expect(percentSemantic(0, 0)).toBe(0);
    expect(percentSemantic(999, 1000)).toBe(99);
    expect(percentSemantic(1000, 1000)).toBe(100);
    expect(percentSemantic(333, 1000)).toBe(33);
  });
  it("phase and clone fractions", () => {
    expect(phaseFraction(p({ files_done: 25 }))).toBe(0.25);
    expect(phaseFraction(p({ phase: "embedding", embeddings_done: 1, embeddings_total: 4 }))).toBe(0.25);
    expect(phaseFraction(p({ phase: "done" }))).toBe(1);
    const g = { stage: "receiving" as const, received_objects: 50, total_objects: 100, indexed_deltas: 0, total_deltas: 0, received_bytes: 0 };
    expect(gitFraction(g)).toBeCloseTo(0.4);
    expect(gitFraction({ ...g, stage: "done" })).toBe(1);
  });
});

describe("formatting", () => {
  it("formats durations, sizes, times and ids", () => {
    expect(formatDuration(null)).toBe("—");
    expect(formatDuration(75)).toBe("1m 15s");
    expect(formatDuration(3700)).toBe("1h 01m");
    expect(formatBytes(1536)).toBe("1.5 KB");
    expect(formatBytes(50 * 1024 * 1024)).toBe("50 MB");
    expect(relativeTime(null)).toBe("never");
    expect(relativeTime(1000, 1010)).toBe("just now");
    expect(relativeTime(0, 600)).toBe("10 min ago");
    expect(relativeTime(0, 86400 * 3)).toBe("3 days ago");
    expect(slugify("My Work!")).toBe("my-work");
  });
});
