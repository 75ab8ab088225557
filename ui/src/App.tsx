import { useCallback, useEffect, useState } from "preact/hooks";
import { api, errorHelp, errorMessage, EVENTS, on, type DeepLinkConfirmEvent, type ProfilesList, type RepoInfo } from "./api";
import { useIndexing } from "./indexing";
import { Header, type View } from "./components/Header";
import { SignIn } from "./components/SignIn";
import { SearchView } from "./components/Search";
import { ReposView } from "./components/Repos";
import { SettingsView } from "./components/Settings";
import { ErrorNote, Modal, Spinner, Toasts, type Toast } from "./components/ui";

let toastId = 0;

export function App() {
  const [profiles, setProfiles] = useState<ProfilesList | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [view, setView] = useState<View>("search");
  const [addingAccount, setAddingAccount] = useState(false);
  const [repos, setRepos] = useState<RepoInfo[] | null>(null);
  const [reposError, setReposError] = useState<string | null>(null);
  const [toasts, setToasts] = useState<Toast[]>([]);
  const [deepLink, setDeepLink] = useState<{ query: string; n: number } | null>(null);
  const [confirmLink, setConfirmLink] = useState<DeepLinkConfirmEvent | null>(null);

  const toast = useCallback((kind: Toast["kind"], text: string, hint?: string) => {
    const id = ++toastId;
    setToasts((t) => [...t.slice(-3), { id, kind, text, ...(hint ? { hint } : {}) }]);
    setTimeout(() => setToasts((t) => t.filter((x) => x.id !== id)), kind === "error" ? 9000 : 3500);
  }, []);

  const loadProfiles = useCallback(async () => {
    try {
      setProfiles(await api.profilesList());
      setLoadError(null);
    } catch (e) {
      setLoadError(errorMessage(e));
    }
  }, []);

  const loadRepos = useCallback(async () => {
    try {
      setRepos(await api.reposList());
      setReposError(null);
    } catch (e) {
      setReposError(errorMessage(e));
    }
  }, []);

  const indexing = useIndexing(
    () => void loadRepos(),
    () => void loadRepos(),
  );

  const current = profiles?.profiles.find((p) => p.id === profiles.current) ?? null;

  useEffect(() => {
    void loadProfiles();
    const subs = [
      on(EVENTS.ERROR, (e) => toast("error", e.message)),
      on(EVENTS.DEEP_LINK_SEARCH, async (e) => {
        if (e.profile) {
          try {
            await api.profileUse(e.profile);
            await loadProfiles();
          } catch (err) {
            toast("error", errorMessage(err), `The link asked for profile “${e.profile}”.`);
          }
        }
        setView("search");
        setDeepLink({ query: e.query, n: Date.now() });
      }),
      on(EVENTS.DEEP_LINK_CONFIRM, (e) => setConfirmLink(e)),
    ];
    // Links that launched the app waited for this: every listener is in place now.
    Promise.all(subs)
      .then(() => api.uiReady())
      .catch((e) => toast("error", errorMessage(e), errorHelp(e)));
    return () => subs.forEach((p) => p.then((f) => f()).catch(() => {}));
  }, []);

  const followLink = async (link: DeepLinkConfirmEvent, alwaysAllow: boolean) => {
    setConfirmLink(null);
    try {
      await api.deepLinkFollow(link.url, alwaysAllow);
      await loadProfiles();
    } catch (e) {
      toast("error", errorMessage(e), errorHelp(e));
    }
  };

  const confirmModal = confirmLink && <LinkConfirm link={confirmLink} onCancel={() => setConfirmLink(null)} onFollow={followLink} />;

  useEffect(() => {
    if (current) void loadRepos();
    else setRepos(null);
  }, [current?.id]);

  // Global keys: `/` focuses search, Ctrl/Cmd+1..3 switch screens.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement | null;
      const typing = t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable);
      if (e.key === "/" && !typing && !e.ctrlKey && !e.metaKey && !document.querySelector(".modal")) {
        e.preventDefault();
        setView("search");
        const box = document.getElementById("search-input");
        if (box) box.focus();
        else requestAnimationFrame(() => document.getElementById("search-input")?.focus());
      } else if ((e.ctrlKey || e.metaKey) && ["1", "2", "3"].includes(e.key)) {
        e.preventDefault();
        setView((["search", "repos", "settings"] as View[])[Number(e.key) - 1]!);
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);

  const switchProfile = async (id: string) => {
    try {
      const p = await api.profileUse(id);
      await loadProfiles();
      toast("ok", `Switched to ${p.github_login ?? p.display_name}`);
    } catch (e) {
      toast("error", errorMessage(e), errorHelp(e));
    }
  };

  if (!profiles) {
    return (
      <div class="boot">
        {loadError ? (
          <ErrorNote message={loadError} hint="Ferret could not read its profiles. Check the data directory is writable, then restart the app." />
        ) : (
          <Spinner />
        )}
      </div>
    );
  }

  if (!current || addingAccount) {
    return (
      <>
        <SignIn
          canCancel={!!current}
          defaultProfile={!current ? (profiles.profiles.find((p) => p.id === "default") ?? null) : null}
          onCancel={() => setAddingAccount(false)}
          onDone={async (msg) => {
            setAddingAccount(false);
            await loadProfiles();
            setView(current ? "search" : "repos");
            toast("ok", msg);
          }}
        />
        {confirmModal}
        <Toasts toasts={toasts} dismiss={(id) => setToasts((t) => t.filter((x) => x.id !== id))} />
      </>
    );
  }

  return (
    <div class="app">
      <Header
        view={view}
        setView={setView}
        profiles={profiles}
        current={current}
        indexing={indexing}
        onSwitch={switchProfile}
        onAddAccount={() => setAddingAccount(true)}
        onChanged={loadProfiles}
        toast={toast}
      />
      <main class="main" key={current.id}>
        {view === "search" && <SearchView repos={repos} deepLink={deepLink} toast={toast} goRepos={() => setView("repos")} />}
        {view === "repos" && (
          <ReposView profile={current} repos={repos} reposError={reposError} reload={loadRepos} indexing={indexing} toast={toast} />
        )}
        {view === "settings" && <SettingsView profile={current} toast={toast} />}
      </main>
      {confirmModal}
      <Toasts toasts={toasts} dismiss={(id) => setToasts((t) => t.filter((x) => x.id !== id))} />
    </div>
  );
}

/**
 * The question a `ferret://` link needs answered first: opening a file in the editor (a web
 * page may fire links; the editor acts on what it opens), or switching to another profile.
 */
function LinkConfirm({ link, onCancel, onFollow }: { link: DeepLinkConfirmEvent; onCancel: () => void; onFollow: (link: DeepLinkConfirmEvent, alwaysAllow: boolean) => void }) {
  const [always, setAlways] = useState(false);
  const switching = link.profile !== link.current;
  const opens = link.opens_in;
  return (
    <Modal
      title={opens ? "Open in your editor?" : "Switch profile?"}
      onClose={onCancel}
      footer={
        <>
          <button class="btn" id="link-cancel" onClick={onCancel}>
            {opens ? "Cancel" : `Stay on ${link.current_name || link.current}`}
          </button>
          <button class="btn primary" id="link-follow" onClick={() => onFollow(link, always)}>
            {opens ? (switching ? `Switch to ${link.profile_name} and open` : "Open") : `Switch to ${link.profile_name}`}
          </button>
        </>
      }
    >
      <p class="link-confirm">
        A link asks to <b>{link.action}</b>
        {switching ? (
          <>
            {" "}
            in the profile <b>{link.profile_name}</b> ({link.profile}). You are using <b>{link.current_name}</b> ({link.current}).
          </>
        ) : (
          "."
        )}
      </p>
      {opens && (
        <label class="toggle small">
          <input type="checkbox" id="link-always" checked={always} onChange={(e) => setAlways(e.currentTarget.checked)} />
          <span class="switch" aria-hidden="true" />
          <span>
            Always allow links to open files of <code>{opens}</code>
          </span>
        </label>
      )}
    </Modal>
  );
}
