import { applyMarks, byteToIndex, highlightSnippet, tokenizeLine } from "./highlight";

const text = (segs: { text: string }[]) => segs.map((s) => s.text).join("");

describe("syntax highlighting", () => {
  it("finds keywords, strings, comments and numbers in Rust", () => {
    const segs = tokenizeLine('pub fn main() { let x = "hi"; // done', "rust");
    expect(text(segs)).toBe('pub fn main() { let x = "hi"; // done');
    expect(segs.filter((s) => s.cls === "kw").map((s) => s.text)).toEqual(["pub", "fn", "let"]);
    expect(segs.find((s) => s.cls === "str")?.text).toBe('"hi"');
    expect(segs.find((s) => s.cls === "com")?.text).toBe("// done");
    expect(tokenizeLine("x = 42", "python").find((s) => s.cls === "num")?.text).toBe("42");
  });
  it("does not read Rust lifetimes as strings", () => {
    const segs = tokenizeLine("fn f<'a>(x: &'a str) -> char { 'c' }", "rust");
    expect(segs.filter((s) => s.cls === "str").map((s) => s.text)).toEqual(["'c'"]);
  });
  it("carries block comments and triple-quoted strings across lines", () => {
    const lines = highlightSnippet("/* start\n still */ fn x", "typescript", []);
    expect(lines[1]![0]).toEqual({ text: " still */", cls: "com" });
    const py = highlightSnippet('"""doc\nmore"""\nreturn 1', "python", []);
    expect(py[1]![0]).toEqual({ text: 'more"""', cls: "str" });
    expect(py[2]![0]).toEqual({ text: "return", cls: "kw" });
  });
  it("handles escaped quotes and unknown languages", () => {
    expect(tokenizeLine('s = "a\\"b" + c', "js").find((s) => s.cls === "str")?.text).toBe('"a\\"b"');
    expect(tokenizeLine("anything <b>", "brainfuck")).toEqual([{ text: "anything <b>" }]);
  });
});

describe("match highlights", () => {
  it("maps UTF-8 byte offsets to string indices", () => {
    expect(byteToIndex("héllo", 3)).toBe(2); // é is two bytes
    expect(byteToIndex("a😀b", 5)).toBe(3); // the emoji is 4 bytes, 2 UTF-16 units
    expect(byteToIndex("abc", 99)).toBe(3);
  });
  it("marks ranges across token boundaries", () => {
    const segs = applyMarks([{ text: "let", cls: "kw" }, { text: " foo" }], [[1, 5]]);
    expect(segs).toEqual([
      { text: "l", cls: "kw" },
      { text: "et", cls: "kw", mark: true },
      { text: " f", mark: true },
      { text: "oo" },
    ]);
  });
  it("applies engine highlights per line with byte offsets", () => {
    const lines = highlightSnippet("// naïve\nlet naïve = 1;", "rust", [{ line: 1, start: 4, end: 10 }]);
    const marked = lines[1]!.filter((s) => s.mark).map((s) => s.text).join("");
    expect(marked).toBe("naïve");
    expect(lines[0]!.some((s) => s.mark)).toBe(false);
  });
  it("keeps markup in snippets as text", () => {
    const lines = highlightSnippet('<img src=x onerror="alert(1)"> <script>', "html", [{ line: 0, start: 0, end: 4 }]);
    expect(text(lines[0]!)).toBe('<img src=x onerror="alert(1)"> <script>');
  });
});
