import { defineConfig } from "vitest/config";

// Browser tests: Chromium (system /usr/bin/chromium) via playwright-core against `vite preview`.
export default defineConfig({
  test: {
    include: ["e2e/**/*.e2e.ts"],
    environment: "node",
    testTimeout: 60_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    sequence: { concurrent: false },
  },
});
