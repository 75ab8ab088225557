/** Progress arithmetic: the engine's rate and ETA shown per phase, semantic coverage, percentages. */
import type { GitProgress, Progress } from "../api";

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

/** The rate (per second) and seconds left the engine measured for a repository's run. */
export interface Speed {
  rate: number;
  eta_secs: number | null;
}

/** Rate and ETA for the phase the repository is in, as the engine measured them. */
export function progressRate(p: Progress, speed: Speed | undefined): { rate: number | null; unit: string; eta: number | null } {
  if (p.phase === "done") return { rate: null, unit: "", eta: 0 };
  const embedding = p.phase === "embedding" || p.phase === "reembedding" || p.phase === "saving";
  const rate = speed && speed.rate > 0 && Number.isFinite(speed.rate) ? speed.rate : null;
  return { rate, unit: embedding ? "chunks/s" : "files/s", eta: rate == null ? null : speed?.eta_secs ?? null };
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
