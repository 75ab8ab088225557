/** Small formatting helpers. */

export function formatCount(n: number): string {
  return n.toLocaleString("en-US");
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let v = bytes / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[u]}`;
}

export function formatDuration(secs: number | null): string {
  if (secs == null) return "—";
  const s = Math.round(secs);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, "0")}m`;
}

/** "just now", "5 min ago", "3 h ago", "2 days ago", or a date. `at` and `now` in Unix seconds. */
export function relativeTime(at: number | null, now = Date.now() / 1000): string {
  if (at == null) return "never";
  const d = Math.max(0, now - at);
  if (d < 45) return "just now";
  if (d < 3600) return `${Math.round(d / 60)} min ago`;
  if (d < 86400) return `${Math.round(d / 3600)} h ago`;
  if (d < 86400 * 14) {
    const days = Math.round(d / 86400);
    return days === 1 ? "yesterday" : `${days} days ago`;
  }
  return new Date(at * 1000).toISOString().slice(0, 10);
}

/** A profile id from a display name: lowercase, [a-z0-9_-], at most 64 characters. */
export function slugify(name: string): string {
  return name
    .toLowerCase()
    .normalize("NFKD")
    .replace(/[^a-z0-9_-]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 64);
}

export const PROFILE_ID = /^[a-z0-9_-]{1,64}$/;
