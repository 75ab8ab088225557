import type { ComponentChildren } from "preact";
import { useEffect, useState } from "preact/hooks";
import { api, errorHelp, errorMessage, EDITORS, type EditorKind, type SecurityReset, type SecuritySettings } from "../api";
import { ErrorNote, Icon, Spinner, type Toast } from "./ui";

type ToastFn = (kind: Toast["kind"], text: string, hint?: string) => void;

export function editorLabel(editor: EditorKind): string {
  return EDITORS.find(([id]) => id === editor)?.[1] ?? editor;
}

/** What a reset did, for its toast: the message and what happens next. */
export function resetMessage(reset: SecurityReset, now: SecuritySettings): [string, string?] {
  switch (reset.setting) {
    case "editor_command":
      return ["Custom editor command removed", `Results open in ${editorLabel(now.editor)}.`];
    case "model_dir":
      return ["Model directory reset", "The model and ONNX Runtime load from $FERRET_MODEL_DIR or the installed files."];
    case "index_secret_files":
      return ["Secret files are skipped again", "A re-index is queued to drop those already indexed."];
    case "link_grant":
    case "all_link_grants":
      return [now.link_grants.length ? "Link access revoked" : "Links ask before opening any file"];
  }
}

/**
 * The settings that let Ferret run, load or open something without asking each time: the
 * custom editor command, the model directory, indexing credential files and the
 * repositories links may open files of. An imported profile can bring any of them, so each
 * shows its value and, when it is not the safe default, a button that takes it back.
 */
export function SecurityPanel({ reloadKey, onChange, toast }: { reloadKey: number; onChange: (s: SecuritySettings) => void; toast: ToastFn }) {
  const [security, setSecurity] = useState<SecuritySettings | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    let alive = true;
    api.securityGet().then(
      (s) => alive && (setSecurity(s), setError(null)),
      (e) => alive && setError(errorMessage(e)),
    );
    return () => {
      alive = false;
    };
  }, [reloadKey]);

  const reset = async (what: SecurityReset) => {
    setBusy(true);
    try {
      const now = await api.securityReset(what);
      setSecurity(now);
      onChange(now);
      const [text, hint] = resetMessage(what, now);
      toast("ok", text, hint);
    } catch (err) {
      toast("error", errorMessage(err), errorHelp(err));
    } finally {
      setBusy(false);
    }
  };

  if (error) return <ErrorNote message={error} hint="The security settings could not be read from this profile." />;
  if (!security) return <Spinner />;
  const command = security.editor_command;
  const grants = security.link_grants;
  return (
    <div class="security" id="security">
      <SecurityRow
        setting="editor-command"
        title="Editor command"
        about="A program Ferret runs when you open a result."
        changed={command != null}
        value={
          command == null ? (
            <>None: results open in {editorLabel(security.editor)}</>
          ) : (
            <>
              <code class="mono">{command}</code>
              {security.editor !== "custom" && <span class="hint block">Kept but not used: results open in {editorLabel(security.editor)}.</span>}
            </>
          )
        }
        action={command != null && <ResetButton id="security-editor-reset" label="Reset" busy={busy} onClick={() => reset({ setting: "editor_command" })} />}
      />
      <SecurityRow
        setting="model-dir"
        title="Model directory"
        about="Where ONNX Runtime (libonnxruntime.so) and the model are loaded from: its code runs inside Ferret."
        changed={security.model_dir != null}
        value={security.model_dir != null ? <code class="mono path">{security.model_dir}</code> : <>Default: $FERRET_MODEL_DIR or the installed files</>}
        action={security.model_dir != null && <ResetButton id="security-model-reset" label="Reset" busy={busy} onClick={() => reset({ setting: "model_dir" })} />}
      />
      <SecurityRow
        setting="secret-files"
        title="Secret files"
        about="Files that usually hold credentials: .env, private keys, .npmrc."
        changed={security.index_secret_files}
        value={security.index_secret_files ? <strong>Indexed: searchable, and readable by coding agents</strong> : <>Skipped</>}
        action={security.index_secret_files && <ResetButton id="security-secrets-reset" label="Stop indexing" busy={busy} onClick={() => reset({ setting: "index_secret_files" })} />}
      />
      <SecurityRow
        setting="link-grants"
        title="Links that open files without asking"
        about="A web page can fire ferret:// links. Files of these repositories open in your editor without asking first."
        changed={grants.length > 0}
        value={
          grants.length === 0 ? (
            <>None: links ask before opening any file</>
          ) : (
            <ul class="grants" id="link-grants">
              {grants.map((g) => (
                <li class="grant" data-repo={g.repo}>
                  <Icon name="link" size={14} />
                  <span class="mono grant-repo">{g.repo}</span>
                  <ResetButton label="Revoke" aria={`Revoke link access to ${g.repo}`} busy={busy} onClick={() => reset({ setting: "link_grant", repo_id: g.repo_id })} />
                </li>
              ))}
            </ul>
          )
        }
        action={grants.length > 1 && <ResetButton id="security-links-revoke-all" label="Revoke all" busy={busy} onClick={() => reset({ setting: "all_link_grants" })} />}
      />
    </div>
  );
}

function SecurityRow({ setting, title, about, changed, value, action }: { setting: string; title: string; about: string; changed: boolean; value: ComponentChildren; action: ComponentChildren }) {
  return (
    <div class={`security-row ${changed ? "changed" : ""}`} data-setting={setting}>
      <div class="security-text">
        <div class="security-title">
          {title}
          {changed && <span class="badge warn">not the default</span>}
        </div>
        <div class="hint">{about}</div>
        <div class="security-value">{value}</div>
      </div>
      {action && <div class="security-action">{action}</div>}
    </div>
  );
}

function ResetButton({ id, label, aria, busy, onClick }: { id?: string; label: string; aria?: string; busy: boolean; onClick: () => void }) {
  return (
    <button type="button" class="btn small" id={id} aria-label={aria} disabled={busy} onClick={onClick}>
      {label}
    </button>
  );
}
