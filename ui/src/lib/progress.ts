/** Progress arithmetic: rates and ETAs from event samples, semantic coverage, percentages. */
import type { GitProgress, Progress } from "../api";

export interface Sample {
  t: number; // elapsed_secs from the event
  files: number;
  embeddings: number;
}

/** Keeps the last samples of one repository's indexing to compute rates over a sliding window. */
export class RateTracker {
  private samples: Sample[] = [];
  constructor(private windowSecs = 10) {}

  push(p: Progress): void {
    const s = { t: p.elapsed_secs, files: p.files_done, embeddings: p.embeddings_done };
    const last = this.samples[this.samples.length - 1];
    if (last && s.t < last.t) this.samples = []; // a new run started
    this.samples.push(s);
    const cutoff = s.t - this.windowSecs;
    while (this.samples.length > 2 && this.samples[0]!.t < cutoff) this.samples.shift();
  }

  /** Units per second over the window, or null without two samples at different times. */
  rate(field: "files" | "embeddings"): number | null {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (!first || !last || last.t <= first.t) return null;
    return (last[field] - first[field]) / (last.t - first.t);
  }
}

export function fraction(done: number, total: number): number {
  if (total <= 0) return 0;
  return Math.min(1, Math.max(0, done / total));
}

/** The share of chunks that have an embedding, 0..100, rounded down (100 only when complete). */
export function percentSemantic(embedded: number, chunks: number): number {
  if (chunks <= 0) return 0;
  if (embedded >= chunks) return 100;
  return Math.floor((embedded / chunks) * 100);
}

/** Which counter drives the current phase, and its fraction done. */
export function phaseFraction(p: Progress): number {
  if (p.phase === "done") return 1;
  if (p.phase === "embedding" || p.phase === "reembedding" || p.phase === "saving") return fraction(p.embeddings_done, p.embeddings_total);
  return fraction(p.files_done, p.files_total);
}

/** Seconds left, or null when it cannot be known (no rate yet, or stalled). */
export function eta(remaining: number, ratePerSec: number | null): number | null {
  if (remaining <= 0) return 0;
  if (ratePerSec == null || ratePerSec <= 0 || !Number.isFinite(ratePerSec)) return null;
  return remaining / ratePerSec;
}

/** Rate and ETA for the phase the repository is in. */
export function progressRate(p: Progress, tracker: RateTracker): { rate: number | null; unit: string; eta: number | null } {
  if (p.phase === "embedding" || p.phase === "reembedding" || p.phase === "saving") {
    const rate = tracker.rate("embeddings");
    return { rate, unit: "chunks/s", eta: eta(p.embeddings_total - p.embeddings_done, rate) };
  }
  if (p.phase === "done") return { rate: null, unit: "", eta: 0 };
  const rate = tracker.rate("files");
  return { rate, unit: "files/s", eta: eta(p.files_total - p.files_done, rate) };
}

/** A clone's fraction: objects received, then deltas resolved, then checkout. */
export function gitFraction(g: GitProgress): number {
  switch (g.stage) {
    case "connecting":
      return 0;
    case "receiving":
      return 0.8 * fraction(g.received_objects, g.total_objects);
    case "resolving":
      return 0.8 + 0.15 * fraction(g.indexed_deltas, g.total_deltas);
    case "checking_out":
      return 0.97;
    case "done":
      return 1;
  }
}
