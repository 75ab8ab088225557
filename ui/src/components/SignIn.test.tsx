import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/preact";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { SignIn, TOKEN_URL } from "./SignIn";

afterEach(() => {
  cleanup();
  clearMocks();
});

function setup(reply: (cmd: string, args: any) => unknown) {
  const calls: { cmd: string; args: any }[] = [];
  mockIPC((cmd, args) => {
    calls.push({ cmd, args });
    return reply(cmd, args);
  });
  const onDone = vi.fn();
  const utils = render(<SignIn canCancel={false} onCancel={() => {}} onDone={onDone} />);
  const token = utils.container.querySelector<HTMLInputElement>("#token")!;
  return { ...utils, calls, onDone, token };
}

describe("SignIn", () => {
  it("uses a password field and links to a read-only token with its permissions", () => {
    const { token, container } = setup(() => null);
    expect(token.type).toBe("password");
    expect(container.querySelector(`a[href="${TOKEN_URL}"]`)).not.toBeNull();
    expect(container.textContent).toContain("Contents: Read-only");
    expect(container.textContent).toContain("Metadata: Read-only");
  });

  it("shows the backend's error verbatim and clears the token", async () => {
    const message = "token rejected by GitHub (401): create a fine-grained read-only token";
    const { token, calls, onDone, container } = setup(() => Promise.reject({ kind: "auth", message }));
    fireEvent.input(token, { target: { value: "ghp_secret123" } });
    fireEvent.submit(token.closest("form")!);
    expect(token.value).toBe("");
    await screen.findByText(message);
    expect(calls).toEqual([{ cmd: "profile_login", args: { apiUrl: null, token: "ghp_secret123" } }]);
    expect(onDone).not.toHaveBeenCalled();
    expect(container.innerHTML).not.toContain("ghp_secret123");
  });

  it("passes the Enterprise API URL and reports success", async () => {
    const { token, calls, onDone } = setup(() => ({ profile: { id: "gh-1" }, user: { id: 1, login: "octo", name: null }, created: true }));
    fireEvent.input(screen.getByPlaceholderText("https://github.example.com/api/v3"), { target: { value: " https://ghe.local/api/v3 " } });
    fireEvent.input(token, { target: { value: "github_pat_x" } });
    fireEvent.submit(token.closest("form")!);
    await waitFor(() => expect(onDone).toHaveBeenCalledWith("Signed in as octo"));
    expect(calls[0]!.args).toEqual({ apiUrl: "https://ghe.local/api/v3", token: "github_pat_x" });
    expect(token.value).toBe("");
  });

  it("refuses an empty token without calling the backend", async () => {
    const { token, calls } = setup(() => null);
    fireEvent.submit(token.closest("form")!);
    await screen.findByText("Paste a personal access token first.");
    expect(calls).toEqual([]);
  });

  it("creates a local profile from a name", async () => {
    const { calls, onDone, container } = setup((_c, a) => ({ id: a.id }));
    fireEvent.input(container.querySelector("#local-name")!, { target: { value: "My Work" } });
    fireEvent.submit(container.querySelector(".local-form")!);
    await waitFor(() => expect(onDone).toHaveBeenCalledWith("Created local profile my-work"));
    expect(calls).toEqual([{ cmd: "profile_create_local", args: { id: "my-work" } }]);
  });
});
