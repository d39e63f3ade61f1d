/**
 * A real browser for the browser-defence tests: headless Chromium (the Debian `chromium`
 * package, driven by puppeteer-core with the system executable) and small page servers on
 * loopback, so a test can open "a web page on another local origin" and watch what it can and
 * cannot make the browser do against a local server.
 *
 * - `launchChromium()`: the browser, or `undefined` when Chromium is not installed (the test
 *   skips). Under `CI=true` a missing Chromium throws: a CI run never skips.
 * - `servePage(html, { host })`: serves `html` at `/` of a fresh loopback origin
 *   (`http://127.0.0.1:<port>` or `http://localhost:<port>`), records the requests it gets.
 * - `runPage(browser, url, { timeoutMs })`: opens the page, waits until it sets
 *   `window.__done = true`, returns `window.__results`.
 *
 * @example
 * ```ts
 * const browser = await launchChromium();
 * if (browser === undefined) return t.skip('chromium not installed');
 * const page = await servePage('<script>fetch(...).finally(() => { window.__results = {}; window.__done = true; })</script>', { host: 'localhost' });
 * const results = await runPage(browser, page.url);
 * await page.close(); await browser.close();
 * ```
 */
import { accessSync, constants } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import puppeteer, { type Browser } from 'puppeteer-core';

/** Where the Debian package puts Chromium; `CHROMIUM_PATH` overrides. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

function installed(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Launches headless Chromium (`--no-sandbox`: tests run as root in containers). `undefined` when
 * it is not installed, except under `CI=true`, where that throws.
 */
export async function launchChromium(): Promise<Browser | undefined> {
  if (!installed(CHROMIUM_PATH)) {
    if (process.env.CI === 'true') {
      throw new Error(`chromium is required under CI=true but ${CHROMIUM_PATH} was not found (install the Debian package chromium, or set CHROMIUM_PATH)`);
    }
    return undefined;
  }
  return puppeteer.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--no-default-browser-check'],
  });
}

/** A page server on loopback. */
export interface ServedPage {
  /** `http://<host>:<port>` */
  origin: string;
  /** The page itself: `${origin}/`. */
  url: string;
  /** Requests this server received (method, path, headers). */
  requests: { method: string; url: string; headers: IncomingHttpHeaders }[];
  close(): Promise<void>;
}

/**
 * Serves `html` at `/` (and an empty 204 for anything else, e.g. `/favicon.ico`) on a free
 * loopback port. `host` is the name the page's origin uses: `'127.0.0.1'` or `'localhost'`
 * (both are loopback; they are different sites for the browser).
 */
export async function servePage(html: string | ((origin: string) => string), { host = '127.0.0.1' }: { host?: '127.0.0.1' | 'localhost' } = {}): Promise<ServedPage> {
  const requests: ServedPage['requests'] = [];
  let origin = '';
  const server = createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    if (req.url === '/' || req.url?.startsWith('/?')) {
      const body = typeof html === 'function' ? html(origin) : html;
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
      res.end(body);
      return;
    }
    res.writeHead(204);
    res.end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  origin = `http://${host}:${port}`;
  return {
    origin,
    url: `${origin}/`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * Opens `url` in a new tab, waits until the page sets `window.__done = true` and returns
 * `window.__results`. The tab is closed afterwards.
 */
export async function runPage<T = unknown>(browser: Browser, url: string, { timeoutMs = 30_000 }: { timeoutMs?: number } = {}): Promise<T> {
  const page = await browser.newPage();
  try {
    await page.goto(url, { waitUntil: 'load', timeout: timeoutMs });
    await page.waitForFunction('window.__done === true', { timeout: timeoutMs, polling: 50 });
    return (await page.evaluate('window.__results')) as T;
  } finally {
    await page.close();
  }
}
