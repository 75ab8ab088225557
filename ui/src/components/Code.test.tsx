import { cleanup, render } from "@testing-library/preact";
import { highlightSnippet } from "../lib/highlight";
import { CodeBlock } from "./Code";

afterEach(cleanup);

describe("CodeBlock", () => {
  it("renders snippets as text: no HTML from the snippet reaches the DOM", () => {
    const evil = '<img src=x onerror="window.pwned=1"><script>alert(1)</script>';
    const lines = highlightSnippet(`let s = "${evil}"; // ${evil}`, "rust", [{ line: 0, start: 9, end: 13 }]);
    const { container } = render(<CodeBlock lines={lines} firstLine={7} />);
    expect(container.querySelector("img, script")).toBeNull();
    expect(container.querySelector(".src")!.textContent).toBe(`let s = "${evil}"; // ${evil}`);
    expect(container.querySelector("mark")!.textContent).toBe("<img");
    expect(container.querySelector(".ln")!.textContent).toBe("7");
    expect(container.querySelector(".tk-kw")!.textContent).toBe("let");
  });

  it("marks the active lines", () => {
    const { container } = render(<CodeBlock lines={highlightSnippet("a\nb\nc", "text", [])} firstLine={10} active={[11, 12]} />);
    expect([...container.querySelectorAll("tr.on")].map((r) => r.getAttribute("data-line"))).toEqual(["11", "12"]);
  });
});
