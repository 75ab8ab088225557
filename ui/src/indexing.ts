/** Indexing and clone progress, driven only by backend events (no polling). */
import { useEffect, useRef, useState } from "preact/hooks";
import { EVENTS, on, type GitProgress, type IndexProgressEvent, type JobsChangedEvent, type Progress } from "./api";
import type { Speed } from "./lib/progress";

export interface RepoProgress {
  repo: string;
  progress?: Progress;
  git?: GitProgress;
  /** The engine's rate and ETA for the repository's current phase. */
  speed?: Speed;
}

export interface IndexingState {
  jobs: JobsChangedEvent;
  overall: IndexProgressEvent["overall"] | null;
  repos: Record<string, RepoProgress>;
  /** Repos in the order their first event arrived. */
  order: string[];
}

export const IDLE: IndexingState = { jobs: { running: false, paused: false, summary: "" }, overall: null, repos: {}, order: [] };

/** Applies one event to the state (pure). */
export function reduceIndexing(
  s: IndexingState,
  e: { type: "index"; payload: IndexProgressEvent } | { type: "git"; payload: { repo: string; progress: GitProgress } } | { type: "jobs"; payload: JobsChangedEvent },
): IndexingState {
  switch (e.type) {
    case "jobs": {
      const next = { ...s, jobs: e.payload };
      // A finished batch clears the per-repo rows; a new one starts afresh.
      if (!e.payload.running && !e.payload.paused) return { ...next, overall: null, repos: {}, order: [] };
      return next;
    }
    case "index": {
      const name = e.payload.repo ?? e.payload.progress.repo;
      const prev = s.repos[name] ?? { repo: name };
      const speed = { rate: e.payload.rate, eta_secs: e.payload.eta_secs };
      return {
        ...s,
        overall: e.payload.overall,
        repos: { ...s.repos, [name]: { ...prev, progress: e.payload.progress, speed } },
        order: s.order.includes(name) ? s.order : [...s.order, name],
      };
    }
    case "git": {
      const name = e.payload.repo;
      const prev = s.repos[name] ?? { repo: name };
      return {
        ...s,
        repos: { ...s.repos, [name]: { ...prev, git: e.payload.progress } },
        order: s.order.includes(name) ? s.order : [...s.order, name],
      };
    }
  }
}

/** Subscribes to progress events; `onRepoDone` fires when a repository finishes a phase run. */
export function useIndexing(onRepoDone: (repo: string) => void, onIdle: () => void): IndexingState {
  const [state, setState] = useState<IndexingState>(IDLE);
  const cb = useRef({ onRepoDone, onIdle });
  cb.current = { onRepoDone, onIdle };
  useEffect(() => {
    const unlisten = [
      on(EVENTS.INDEX_PROGRESS, (payload) => {
        setState((s) => reduceIndexing(s, { type: "index", payload }));
        if (payload.progress.phase === "done") cb.current.onRepoDone(payload.repo ?? payload.progress.repo);
      }),
      on(EVENTS.GIT_PROGRESS, (payload) => setState((s) => reduceIndexing(s, { type: "git", payload }))),
      on(EVENTS.JOBS_CHANGED, (payload) => {
        setState((s) => reduceIndexing(s, { type: "jobs", payload }));
        if (!payload.running) cb.current.onIdle();
      }),
    ];
    return () => unlisten.forEach((p) => p.then((f) => f()).catch(() => {}));
  }, []);
  return state;
}
