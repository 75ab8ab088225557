import { acceptCompletion, buildQuery, complete, extractChips, parseQuery, tokenize } from "./query";

describe("query chips", () => {
  it("parses qualifiers into chips and keeps free text", () => {
    const q = parseQuery('repo:ferret lang:rust path:src/ -path:tests/ parse "exact phrase"');
    expect(q.chips).toEqual([
      { key: "repo", value: "ferret" },
      { key: "lang", value: "rust" },
      { key: "path", value: "src/" },
      { key: "-path", value: "tests/" },
    ]);
    expect(q.text).toBe('parse "exact phrase"');
  });

  it("keeps quoted phrases as one token and handles quoted values", () => {
    expect(tokenize('a "b c" d')).toEqual(["a", '"b c"', "d"]);
    expect(parseQuery('path:"my dir/x" y').chips).toEqual([{ key: "path", value: "my dir/x" }]);
    expect(buildQuery([{ key: "path", value: "my dir" }], "y")).toBe('path:"my dir" y');
  });

  it("treats Rust paths and unknown qualifiers as code", () => {
    expect(parseQuery("file::open").chips).toEqual([]);
    expect(parseQuery("path::join").chips).toEqual([]);
    expect(parseQuery("-repo:x foo:bar").chips).toEqual([]);
    expect(parseQuery("REPO:Ferret").chips).toEqual([{ key: "repo", value: "Ferret" }]);
  });

  it("extracts only finished qualifiers while typing", () => {
    expect(extractChips("repo:fer")).toEqual({ chips: [], text: "repo:fer" });
    expect(extractChips("repo:ferret ")).toEqual({ chips: [{ key: "repo", value: "ferret" }], text: "" });
    expect(extractChips("parse lang:rust args")).toEqual({ chips: [{ key: "lang", value: "rust" }], text: "parse args" });
    // an open quote is never split
    expect(extractChips('"repo:x ')).toEqual({ chips: [], text: '"repo:x ' });
    // nothing to extract: input returned unchanged (caret must not jump)
    expect(extractChips("hello  world ")).toEqual({ chips: [], text: "hello  world " });
  });

  it("builds the engine query from chips and text", () => {
    expect(buildQuery([{ key: "repo", value: "a" }, { key: "-path", value: "t/" }], " retry  ")).toBe("repo:a -path:t/ retry");
    expect(buildQuery([], "")).toBe("");
  });
});

describe("autocomplete", () => {
  const repos = ["BurntSushi/ripgrep", "ferret", "rust-lang/rust", "octo/fern"];
  it("suggests repositories after repo:", () => {
    expect(complete("repo:", repos)?.options).toEqual(repos);
    expect(complete("x repo:fer", repos)?.options).toEqual(["ferret", "octo/fern"]);
    expect(complete("repo:rip", repos)?.options).toEqual(["BurntSushi/ripgrep"]);
    expect(complete("repo:zzz", repos)).toBeNull();
    expect(complete("repo:x ", repos)).toBeNull();
    expect(complete("prepo:x", repos)).toBeNull();
  });
  it("suggests languages (and resolves aliases) after lang:", () => {
    expect(complete("lang:ru", [])?.options).toEqual(["rust", "ruby"]);
    expect(complete("lang:py", [])?.options).toEqual(["python"]);
    expect(complete("lang:ts", [])?.options).toEqual(["typescript", "tsx"]);
  });
  it("accepting turns the partial token into a chip", () => {
    const c = complete("retry repo:fer", repos)!;
    expect(acceptCompletion([], "retry repo:fer", c, "ferret")).toEqual({ chips: [{ key: "repo", value: "ferret" }], text: "retry " });
  });
});
