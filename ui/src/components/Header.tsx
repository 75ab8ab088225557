import { useEffect, useRef, useState } from "preact/hooks";
import { api, errorHelp, errorMessage, type ProfileRecord, type ProfileStats, type ProfilesList } from "../api";
import type { IndexingState } from "../indexing";
import { formatBytes, formatCount } from "../lib/format";
import { Icon, LogoMark, Modal, Spinner, type Toast } from "./ui";

export type View = "search" | "repos" | "settings";

type ToastFn = (kind: Toast["kind"], text: string, hint?: string) => void;

export function profileLabel(p: ProfileRecord): string {
  return p.github_login ?? p.display_name;
}

export function Avatar({ profile, size = 26 }: { profile: ProfileRecord; size?: number }) {
  const label = profileLabel(profile);
  // A stable hue per profile id, so accounts are told apart at a glance.
  let h = 0;
  for (const c of profile.id) h = (h * 31 + c.charCodeAt(0)) % 360;
  return (
    <span class={`avatar ${profile.kind}`} style={{ width: size, height: size, "--hue": h }} aria-hidden="true">
      {label.slice(0, 1).toUpperCase()}
    </span>
  );
}

export function Header(props: {
  view: View;
  setView: (v: View) => void;
  profiles: ProfilesList;
  current: ProfileRecord;
  indexing: IndexingState;
  onSwitch: (id: string) => void;
  onAddAccount: () => void;
  onChanged: () => Promise<void>;
  toast: ToastFn;
}) {
  const { view, setView, indexing } = props;
  const tabs: [View, string, string, string][] = [
    ["search", "Search", "search", "/"],
    ["repos", "Repositories", "repo", "Ctrl 2"],
    ["settings", "Settings", "gear", "Ctrl 3"],
  ];
  const pct = indexing.overall?.percent;
  return (
    <header class="topbar">
      <div class="brand">
        <span class="logo" aria-hidden="true">
          <LogoMark size={18} />
        </span>
        Ferret
      </div>
      <nav class="tabs" role="tablist">
        {tabs.map(([id, label, icon, key]) => (
          <button role="tab" aria-selected={view === id} class={`tab ${view === id ? "active" : ""}`} onClick={() => setView(id)} title={`${label} (${key})`}>
            <Icon name={icon} />
            {label}
          </button>
        ))}
      </nav>
      <div class="topbar-right">
        {(indexing.jobs.running || indexing.jobs.paused) && (
          <button class={`activity ${indexing.jobs.paused ? "paused" : ""}`} onClick={() => setView("repos")} title={indexing.jobs.summary}>
            {indexing.jobs.paused ? <Icon name="pause" size={12} /> : <Spinner />}
            <span>{indexing.jobs.paused ? "Paused" : "Indexing"}</span>
            {pct != null && <span class="activity-pct">{Math.round(pct)}%</span>}
          </button>
        )}
        <ProfileMenu {...props} />
      </div>
    </header>
  );
}

function ProfileMenu({ profiles, current, onSwitch, onAddAccount, onChanged, toast }: Parameters<typeof Header>[0]) {
  const [open, setOpen] = useState(false);
  const [deleting, setDeleting] = useState<ProfileRecord | null>(null);
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!open) return;
    const close = (e: MouseEvent) => !ref.current?.contains(e.target as Node) && setOpen(false);
    document.addEventListener("mousedown", close);
    ref.current?.querySelector<HTMLElement>(".menu button")?.focus();
    return () => document.removeEventListener("mousedown", close);
  }, [open]);

  const onMenuKey = (e: KeyboardEvent) => {
    const items = [...(ref.current?.querySelectorAll<HTMLElement>(".menu button") ?? [])];
    const i = items.indexOf(document.activeElement as HTMLElement);
    if (e.key === "Escape") {
      setOpen(false);
      ref.current?.querySelector<HTMLElement>(".profile-btn")?.focus();
    } else if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      items[(i + (e.key === "ArrowDown" ? 1 : items.length - 1)) % items.length]?.focus();
    }
  };

  const signOut = async () => {
    setOpen(false);
    try {
      await api.profileLogout();
      toast("ok", `Signed out of ${profileLabel(current)}`, "The token was removed from the keychain; indexed code stays until you delete the profile.");
      await onChanged();
    } catch (e) {
      toast("error", errorMessage(e), errorHelp(e));
    }
  };

  const exportProfile = async () => {
    setOpen(false);
    try {
      const r = await api.profileExport(current.id);
      if (r) toast("ok", `Exported ${r.profile} to ${r.file}`, `${formatBytes(r.bytes)} · ${r.repos} repositories · the file holds no token`);
    } catch (e) {
      toast("error", errorMessage(e), errorHelp(e));
    }
  };

  const importProfile = async () => {
    setOpen(false);
    try {
      const r = await api.profileImport();
      if (!r) return;
      const todo = [
        r.needs_sign_in ? "sign in again to sync its GitHub repositories" : "",
        r.clones_to_restore.length ? `sync to clone ${r.clones_to_restore.join(", ")} again` : "",
        r.local_repos_to_confirm.length ? `check and confirm the folders of ${r.local_repos_to_confirm.map((l) => l.name).join(", ")} in Repositories` : "",
        r.missing_local_repos.length ? `restore the folders of ${r.missing_local_repos.join(", ")}` : "",
        r.settings_reset_for_safety.length ? `set ${r.settings_reset_for_safety.join(", ")} again in Settings if you trust them (reset for safety)` : "",
        r.settings_reset_as_invalid.length ? `settings reset as invalid: ${r.settings_reset_as_invalid.join("; ")}` : "",
      ].filter(Boolean);
      toast("ok", `Imported ${profileLabel(r.profile)}: searchable now`, todo.length ? `To do: ${todo.join("; ")}.` : undefined);
      await onChanged();
    } catch (e) {
      toast("error", errorMessage(e), errorHelp(e));
    }
  };

  return (
    <div class="profile" ref={ref} onKeyDown={onMenuKey}>
      <button class="profile-btn" aria-haspopup="menu" aria-expanded={open} onClick={() => setOpen(!open)}>
        <Avatar profile={current} />
        <span class="profile-name">{profileLabel(current)}</span>
        {current.status !== "active" && <span class={`status-dot ${current.status}`} title={current.status} />}
        <Icon name="chevron" size={14} />
      </button>
      {open && (
        <div class="menu" role="menu">
          <div class="menu-label">Profiles</div>
          {profiles.profiles.map((p) => (
            <button
              role="menuitemradio"
              aria-checked={p.id === current.id}
              class={`menu-item profile-item ${p.id === current.id ? "current" : ""}`}
              onClick={() => {
                setOpen(false);
                if (p.id !== current.id) onSwitch(p.id);
              }}
            >
              <Avatar profile={p} size={22} />
              <span class="menu-main">
                <span>{profileLabel(p)}</span>
                <span class="menu-sub">
                  {p.kind === "github" ? (p.api_url ? new URL(p.api_url).host : "github.com") : "local"} · {p.id}
                  {p.status !== "active" && ` · ${p.status}`}
                </span>
              </span>
              {p.id === current.id && <span class="menu-check"><Icon name="check" /></span>}
            </button>
          ))}
          <div class="menu-sep" />
          <button role="menuitem" class="menu-item" onClick={() => (setOpen(false), onAddAccount())}>
            <Icon name="plus" /> Add account…
          </button>
          {current.kind === "github" && (
            <button role="menuitem" class="menu-item" onClick={signOut}>
              <Icon name="logout" /> Sign out of {profileLabel(current)}
            </button>
          )}
          <button role="menuitem" class="menu-item" onClick={exportProfile}>
            <Icon name="external" /> Export profile…
          </button>
          <button role="menuitem" class="menu-item" onClick={importProfile}>
            <Icon name="folder" /> Import profile…
          </button>
          <button role="menuitem" class="menu-item danger" onClick={() => (setOpen(false), setDeleting(current))}>
            <Icon name="trash" /> Delete profile…
          </button>
        </div>
      )}
      {deleting && (
        <DeleteProfile
          profile={deleting}
          onClose={() => setDeleting(null)}
          onDeleted={async (msg) => {
            setDeleting(null);
            toast("ok", msg);
            await onChanged();
          }}
        />
      )}
    </div>
  );
}

export function DeleteProfile({ profile, onClose, onDeleted }: { profile: ProfileRecord; onClose: () => void; onDeleted: (msg: string) => void }) {
  const [typed, setTyped] = useState("");
  const [stats, setStats] = useState<ProfileStats | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api.profileStats(profile.id).then(setStats, () => {});
  }, [profile.id]);
  const confirm = async () => {
    setBusy(true);
    setError(null);
    try {
      const r = await api.profileDelete(profile.id);
      onDeleted(`Deleted profile ${r.profile.id} and freed ${formatBytes(r.bytes_removed)}${r.keychain_entry_removed ? "; its token was removed from the keychain" : ""}.`);
    } catch (e) {
      setError(errorMessage(e));
      setBusy(false);
    }
  };
  const ok = typed === profile.id;
  return (
    <Modal
      title="Delete profile"
      onClose={onClose}
      footer={
        <>
          <button class="btn" onClick={onClose}>
            Cancel
          </button>
          <button class="btn danger" disabled={!ok || busy} onClick={confirm}>
            {busy ? <Spinner /> : <Icon name="trash" />} Delete {profile.id}
          </button>
        </>
      }
    >
      <p>
        This removes <b>{profileLabel(profile)}</b>’s index, clones and settings from this machine
        {profile.kind === "github" && ", and its token from the keychain"}. Your repositories on disk and on GitHub are not touched.
      </p>
      {stats && (
        <p class="muted">
          {formatCount(stats.repos)} repositories · {formatCount(stats.chunks)} chunks · {formatBytes(stats.bytes_on_disk)} on disk
        </p>
      )}
      <label class="field">
        <span>
          Type <code>{profile.id}</code> to confirm
        </span>
        <input
          class="input mono"
          value={typed}
          onInput={(e) => setTyped(e.currentTarget.value)}
          onKeyDown={(e) => e.key === "Enter" && ok && confirm()}
          spellcheck={false}
          autocomplete="off"
          aria-label="Profile id to confirm"
        />
      </label>
      {error && <p class="error-text">{error}</p>}
    </Modal>
  );
}


