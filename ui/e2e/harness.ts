/** Serves the built UI with `vite preview`, launches Chromium and injects the mock backend. */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { build, preview, type PreviewServer } from "vite";

const here = dirname(fileURLToPath(import.meta.url));
export const UI = resolve(here, "..");
export const SCREENS = join(UI, "test-results", "screens");
export const DOCS_SCREENS = resolve(UI, "..", "docs", "screenshots");

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

let server: PreviewServer | undefined;
let browser: Browser | undefined;
let userDir: string | undefined;
let mockScript = "";
export let baseUrl = "";

/** Bundles e2e/mock-backend.ts (and @tauri-apps/api/mocks) into one init script. */
async function bundleMock(): Promise<string> {
  const out = await build({
    configFile: false,
    logLevel: "warn",
    root: UI,
    build: {
      write: false,
      lib: { entry: join(here, "mock-backend.ts"), formats: ["iife"], name: "FerretMock", fileName: () => "mock.js" },
      minify: false,
      emptyOutDir: false,
    },
  });
  const result = Array.isArray(out) ? out[0]! : out;
  if (!("output" in result)) throw new Error("unexpected vite build result");
  return (result.output[0] as { code: string }).code;
}

export async function start(): Promise<void> {
  mkdirSync(SCREENS, { recursive: true });
  mockScript = await bundleMock();
  server = await preview({ root: UI, logLevel: "warn", preview: { host: "127.0.0.1", port: 4173, strictPort: false } });
  baseUrl = server.resolvedUrls!.local[0]!;
  // playwright refuses --user-data-dir with launch(): it gives every launch a fresh temporary
  // profile directory under TMPDIR, so point TMPDIR at our own temp dir and remove it after.
  userDir = mkdtempSync(join(tmpdir(), "ferret-e2e-chromium-"));
  browser = await chromium.launch({
    env: { ...process.env, TMPDIR: userDir },
    executablePath: CHROMIUM,
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync",
    ],
  });
}

export async function stop(): Promise<void> {
  await browser?.close();
  await new Promise<void>((r) => (server ? server.httpServer.close(() => r()) : r()));
  if (userDir) rmSync(userDir, { recursive: true, force: true });
}

export interface Opened {
  page: Page;
  context: BrowserContext;
  errors: string[];
}

/** A fresh context (own storage) with the mock backend installed before any app code runs. */
export async function open(scenario: "fresh" | "signed-in", colorScheme: "light" | "dark" = "dark"): Promise<Opened> {
  const context = await browser!.newContext({ viewport: { width: 1280, height: 800 }, colorScheme, deviceScaleFactor: 1 });
  await context.addInitScript(`window.__FERRET_SCENARIO__ = ${JSON.stringify(scenario)};`);
  await context.addInitScript(mockScript);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  await page.goto(baseUrl);
  return { page, context, errors };
}

/** Saves a screenshot under test-results/screens and copies it to docs/screenshots/ui-NAME.png. */
export async function shot(page: Page, name: string): Promise<void> {
  await page.evaluate(() => document.fonts.ready);
  await page.waitForTimeout(350); // let bar transitions settle
  const file = join(SCREENS, `${name}.png`);
  await page.screenshot({ path: file });
  if (process.env.FERRET_UPDATE_DOCS_SCREENSHOTS) {
    mkdirSync(DOCS_SCREENS, { recursive: true });
    copyFileSync(file, join(DOCS_SCREENS, `ui-${name}.png`));
  }
}

/** Emits a backend event through the mocked Tauri event plugin. */
export async function emit(page: Page, event: string, payload: unknown): Promise<void> {
  await page.evaluate(([e, p]) => (window as any).__ferret.emit(e, p), [event, payload] as const);
}

export async function calls(page: Page, cmd: string): Promise<Record<string, unknown>[]> {
  return page.evaluate((c) => (window as any).__ferret.calls.filter((x: any) => x.cmd === c).map((x: any) => x.args), cmd);
}
