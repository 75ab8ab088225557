import { defineConfig } from "vite";

// Tauri serves the built files; a fixed port keeps `tauri dev` predictable.
export default defineConfig({
  clearScreen: false,
  server: { port: 1420, strictPort: true },
  build: { outDir: "dist", target: "es2022", emptyOutDir: true },
  test: { environment: "jsdom", globals: true },
});
