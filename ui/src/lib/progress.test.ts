import type { Progress } from "../api";
import { relativeTime, formatDuration, formatBytes, slugify } from "./format";
import { eta, gitFraction, percentSemantic, phaseFraction, progressRate, RateTracker } from "./progress";

const p = (over: Partial<Progress>): Progress => ({
  phase: "chunking", repo: "r", files_done: 0, files_total: 100, chunks_written: 0, embeddings_done: 0, embeddings_total: 0, elapsed_secs: 0, model: null, ...over,
});

describe("progress math", () => {
  it("computes rate over the event window and ETA from it", () => {
    const t = new RateTracker(10);
    t.push(p({ files_done: 0, elapsed_secs: 0 }));
    expect(t.rate("files")).toBeNull();
    t.push(p({ files_done: 20, elapsed_secs: 2 }));
    expect(t.rate("files")).toBe(10);
    const r = progressRate(p({ files_done: 20, elapsed_secs: 2 }), t);
    expect(r).toEqual({ rate: 10, unit: "files/s", eta: 8 });
  });
  it("uses embeddings in the embedding phase and forgets old samples", () => {
    const t = new RateTracker(5);
    for (let s = 0; s <= 20; s += 2) t.push(p({ phase: "embedding", embeddings_done: s < 10 ? s * 100 : 1000 + (s - 10) * 10, embeddings_total: 2000, elapsed_secs: s }));
    // within the last 5 s the rate is 10/s, not the early 100/s
    expect(t.rate("embeddings")).toBeCloseTo(10);
    const r = progressRate(p({ phase: "embedding", embeddings_done: 1100, embeddings_total: 2000, elapsed_secs: 20 }), t);
    expect(r.unit).toBe("chunks/s");
    expect(r.eta).toBeCloseTo(90);
  });
  it("resets when a new run starts", () => {
    const t = new RateTracker();
    t.push(p({ files_done: 50, elapsed_secs: 10 }));
    t.push(p({ files_done: 2, elapsed_secs: 1 }));
    expect(t.rate("files")).toBeNull();
  });
  it("has no ETA without progress", () => {
    expect(eta(10, null)).toBeNull();
    expect(eta(10, 0)).toBeNull();
    expect(eta(0, null)).toBe(0);
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
