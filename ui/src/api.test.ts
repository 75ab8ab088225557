import { describe, expect, it } from "vitest";
import { errorHelp, errorKind, errorMessage } from "./api";

describe("command errors", () => {
  it("reads the message and kind of a backend ErrorReport", () => {
    const report = { kind: "disk_full", message: "disk full (cannot write /data/meta.sqlite): free space" };
    expect(errorMessage(report)).toBe(report.message);
    expect(errorKind(report)).toBe("disk_full");
    expect(errorHelp(report)).toMatch(/Free some disk space/);
  });

  it("gives kind-specific help only where there is some", () => {
    expect(errorHelp({ kind: "auth", message: "401" })).toMatch(/Sign in again/);
    expect(errorHelp({ kind: "not_found", message: "no such repository" })).toBeUndefined();
  });

  it("still copes with plain strings and Errors", () => {
    expect(errorMessage("plain")).toBe("plain");
    expect(errorMessage(new Error("boom"))).toBe("boom");
    expect(errorKind("plain")).toBeNull();
    expect(errorHelp(new Error("boom"))).toBeUndefined();
  });
});
