import { defineConfig } from "vite";

// Preact via esbuild's automatic JSX runtime: no framework plugin needed.
// Tauri serves the built files; a fixed port keeps `tauri dev` predictable.
export default defineConfig({
  clearScreen: false,
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  resolve: { alias: { react: "preact/compat", "react-dom": "preact/compat" } },
  server: { port: 1420, strictPort: true },
  preview: { host: "127.0.0.1" },
  build: { outDir: "dist", target: "es2022", emptyOutDir: true },
  test: { environment: "jsdom", globals: true, include: ["src/**/*.test.{ts,tsx}"] },
});
