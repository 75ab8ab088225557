/** Small shared pieces: icons, progress bars, dialogs, empty states, toasts. */
import type { ComponentChildren, JSX } from "preact";
import { useEffect, useRef } from "preact/hooks";

const PATHS: Record<string, string> = {
  search: "M11 4a7 7 0 1 0 4.2 12.6l4.1 4.1 1.4-1.4-4.1-4.1A7 7 0 0 0 11 4zm0 2a5 5 0 1 1 0 10 5 5 0 0 1 0-10z",
  repo: "M5 3h11a3 3 0 0 1 3 3v14H7a2 2 0 0 1-2-2V3zm2 2v11.2c.3-.1.6-.2 1-.2h9V6a1 1 0 0 0-1-1H7zm1 13a.5.5 0 0 0 0 1h9v-1H8z",
  gear: "M12 8a4 4 0 1 0 0 8 4 4 0 0 0 0-8zm0 2a2 2 0 1 1 0 4 2 2 0 0 1 0-4zm-1.3-8h2.6l.5 2.6 1.6.7 2.2-1.5 1.9 1.9-1.5 2.2.7 1.6 2.6.5v2.6l-2.6.5-.7 1.6 1.5 2.2-1.9 1.9-2.2-1.5-1.6.7-.5 2.6h-2.6l-.5-2.6-1.6-.7-2.2 1.5-1.9-1.9 1.5-2.2-.7-1.6L2 13.3v-2.6l2.6-.5.7-1.6-1.5-2.2 1.9-1.9 2.2 1.5 1.6-.7.5-2.6z",
  plus: "M11 5h2v6h6v2h-6v6h-2v-6H5v-2h6V5z",
  folder: "M3 6a2 2 0 0 1 2-2h4l2 2h8a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2V6zm2 0v12h14V8h-8.8l-2-2H5z",
  sync: "M12 4a8 8 0 0 1 7.4 5H17v2h6V5h-2v2.3A10 10 0 0 0 2 12h2a8 8 0 0 1 8-8zm8 8a8 8 0 0 1-15.4 3H7v-2H1v6h2v-2.3A10 10 0 0 0 22 12h-2z",
  refresh: "M12 5V2L7 6l5 4V7a5 5 0 1 1-5 5H5a7 7 0 1 0 7-7z",
  trash: "M9 3h6l1 2h4v2H4V5h4l1-2zM6 9h12l-1 12H7L6 9zm3 2v8h2v-8H9zm4 0v8h2v-8h-2z",
  pause: "M7 5h4v14H7V5zm6 0h4v14h-4V5z",
  play: "M8 5l11 7-11 7V5z",
  stop: "M7 7h10v10H7z",
  x: "M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12l5.6 5.6-1.4 1.4-5.6-5.6L6.4 19 5 17.6l5.6-5.6L5 6.4 6.4 5z",
  check: "M9 16.2 4.8 12l-1.4 1.4L9 19 21 7l-1.4-1.4L9 16.2z",
  chevron: "M7 10l5 5 5-5H7z",
  lock: "M7 10V8a5 5 0 0 1 10 0v2h1a1 1 0 0 1 1 1v9a1 1 0 0 1-1 1H6a1 1 0 0 1-1-1v-9a1 1 0 0 1 1-1h1zm2 0h6V8a3 3 0 0 0-6 0v2z",
  globe: "M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm6.9 9h-3a15 15 0 0 0-1.4-6.3A8 8 0 0 1 18.9 11zM12 4c.9 1.2 1.8 3.6 2 7h-4c.2-3.4 1.1-5.8 2-7zM9.5 4.7A15 15 0 0 0 8.1 11h-3a8 8 0 0 1 4.4-6.3zM5.1 13h3a15 15 0 0 0 1.4 6.3A8 8 0 0 1 5.1 13zM12 20c-.9-1.2-1.8-3.6-2-7h4c-.2 3.4-1.1 5.8-2 7zm2.5-.7a15 15 0 0 0 1.4-6.3h3a8 8 0 0 1-4.4 6.3z",
  link: "M10.6 13.4a1 1 0 0 0 1.4 0l4-4a3 3 0 0 0-4.2-4.2l-1.5 1.5 1.4 1.4 1.5-1.5a1 1 0 0 1 1.4 1.4l-4 4a1 1 0 0 0 0 1.4zm2.8-2.8a1 1 0 0 0-1.4 0l-4 4a3 3 0 0 0 4.2 4.2l1.5-1.5-1.4-1.4-1.5 1.5a1 1 0 0 1-1.4-1.4l4-4a1 1 0 0 0 0-1.4z",
  external: "M14 3h7v7h-2V6.4l-9.3 9.3-1.4-1.4L17.6 5H14V3zM5 5h6v2H5v12h12v-6h2v6a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2V7a2 2 0 0 1 2-2z",
  warn: "M12 2 1 21h22L12 2zm0 4.5L19.5 19h-15L12 6.5zM11 10v5h2v-5h-2zm0 6v2h2v-2h-2z",
  key: "M14 2a6 6 0 0 0-5.7 7.9L2 16.2V22h5.8v-2H10v-2.2h2.2l1.9-1.9A6 6 0 1 0 14 2zm2 4a2 2 0 1 1 0 4 2 2 0 0 1 0-4z",
  user: "M12 12a4.5 4.5 0 1 0 0-9 4.5 4.5 0 0 0 0 9zm0 2c-4.4 0-8 2.2-8 5v2h16v-2c0-2.8-3.6-5-8-5z",
  logout: "M10 3H5a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h5v-2H5V5h5V3zm6.6 4.6L15.2 9l2 2H9v2h8.2l-2 2 1.4 1.4L21 12l-4.4-4.4z",
};

export function Icon({ name, size = 16 }: { name: keyof typeof PATHS | string; size?: number }) {
  return (
    <svg class="icon" width={size} height={size} viewBox="0 0 24 24" aria-hidden="true" fill="currentColor">
      <path d={PATHS[name] ?? ""} fill-rule="evenodd" />
    </svg>
  );
}

export function Bar({ value, tone, label }: { value: number; tone?: "accent" | "semantic" | "warn" | "danger" | "ok"; label?: string }) {
  const pct = Math.round(Math.min(1, Math.max(0, value)) * 1000) / 10;
  return (
    <div class={`bar ${tone ?? "accent"}`} role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={pct} aria-label={label}>
      <div class="bar-fill" style={{ width: `${pct}%` }} />
    </div>
  );
}

export function Spinner() {
  return <span class="spinner" aria-hidden="true" />;
}

export function Empty({ icon, title, children }: { icon: string; title: string; children?: ComponentChildren }) {
  return (
    <div class="empty">
      <div class="empty-icon">
        <Icon name={icon} size={22} />
      </div>
      <div class="empty-title">{title}</div>
      <div class="empty-body">{children}</div>
    </div>
  );
}

export function ErrorNote({ message, hint }: { message: string; hint?: ComponentChildren }) {
  return (
    <div class="error-note" role="alert">
      <Icon name="warn" />
      <div>
        <div class="error-text">{message}</div>
        {hint && <div class="error-hint">{hint}</div>}
      </div>
    </div>
  );
}

export function Modal({ title, onClose, children, footer }: { title: string; onClose: () => void; children: ComponentChildren; footer?: ComponentChildren }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const prev = document.activeElement as HTMLElement | null;
    const first = ref.current?.querySelector<HTMLElement>("input, button:not(.modal-x), select, textarea");
    first?.focus();
    return () => prev?.focus?.();
  }, []);
  const onKey = (e: JSX.TargetedKeyboardEvent<HTMLDivElement>) => {
    if (e.key === "Escape") {
      e.stopPropagation();
      onClose();
    }
  };
  return (
    <div class="modal-backdrop" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div class="modal" role="dialog" aria-modal="true" aria-label={title} ref={ref} onKeyDown={onKey}>
        <div class="modal-head">
          <h2>{title}</h2>
          <button class="icon-btn modal-x" onClick={onClose} aria-label="Close">
            <Icon name="x" />
          </button>
        </div>
        <div class="modal-body">{children}</div>
        {footer && <div class="modal-foot">{footer}</div>}
      </div>
    </div>
  );
}

export interface Toast {
  id: number;
  kind: "error" | "info" | "ok";
  text: string;
  hint?: string;
}

export function Toasts({ toasts, dismiss }: { toasts: Toast[]; dismiss: (id: number) => void }) {
  return (
    <div class="toasts" aria-live="polite">
      {toasts.map((t) => (
        <div key={t.id} class={`toast ${t.kind}`} role={t.kind === "error" ? "alert" : "status"}>
          <Icon name={t.kind === "error" ? "warn" : t.kind === "ok" ? "check" : "link"} />
          <div class="toast-body">
            <div>{t.text}</div>
            {t.hint && <div class="toast-hint">{t.hint}</div>}
          </div>
          <button class="icon-btn" onClick={() => dismiss(t.id)} aria-label="Dismiss">
            <Icon name="x" size={14} />
          </button>
        </div>
      ))}
    </div>
  );
}

export function Kbd({ children }: { children: ComponentChildren }) {
  return <kbd>{children}</kbd>;
}

/** Ferret's mark: a lens over a line of code. */
export function LogoMark({ size = 18 }: { size?: number }) {
  return (
    <svg viewBox="0 0 24 24" width={size} height={size} fill="none" stroke="currentColor" stroke-width="2.2" stroke-linecap="round" stroke-linejoin="round">
      <circle cx="10.5" cy="10.5" r="6.5" />
      <path d="M15.5 15.5 20 20" />
      <path d="M8.5 8.5 6.8 10.5l1.7 2M12.5 8.5l1.7 2-1.7 2" stroke-width="1.6" />
    </svg>
  );
}
