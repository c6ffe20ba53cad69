import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../../test/harness.js';
import { DOCS_CSP } from './routes.js';

/** `/docs` in a real headless Chromium (Debian's), served by the real app over HTTP. */

const CHROMIUM_PATH = '/usr/bin/chromium';
// playwright-core adds --headless (headless: true) and --no-sandbox (chromiumSandbox: false, needed as root).
const CHROMIUM_ARGS = [
  '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync',
];

let h: Harness;
let server: ServerType;
let origin: string;
let profileDir: string;
let browser: BrowserContext;
beforeAll(async () => {
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`${CHROMIUM_PATH} is missing: run \`apt-get install -y chromium\``);
  h = await startHarness({ worker: false });
  server = serve({ fetch: h.app.fetch, hostname: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  profileDir = mkdtempSync(join(tmpdir(), 'docs-chromium-'));
  browser = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM_PATH, headless: true, chromiumSandbox: false, args: CHROMIUM_ARGS, timeout: 60_000,
  });
});
afterAll(async () => {
  await browser?.close();
  if (profileDir) rmSync(profileDir, { recursive: true, force: true });
  await new Promise((resolve) => server ? server.close(resolve) : resolve(undefined));
  await h?.close();
});

describe('/docs', () => {
  it('renders the transfers and payments operations in Chromium, every request to its own origin, no CSP violation', async () => {
    const requests: string[] = [];
    const errors: string[] = [];
    browser.on('request', (request) => requests.push(request.url()));
    // Chromium also reports each violation on the console; the event names the directive.
    await browser.addInitScript({
      content: `window.__violations = [];
        document.addEventListener('securitypolicyviolation', (e) => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));`,
    });
    const page = await browser.newPage();
    page.on('console', (message) => { if (message.type() === 'error') errors.push(message.text()); });
    page.on('pageerror', (error) => errors.push(error.message));

    const response = await page.goto(`${origin}/docs`);
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-security-policy']).toBe(DOCS_CSP);
    await page.locator('.opblock-summary').first().waitFor({ timeout: 60_000 });
    await page.waitForLoadState('networkidle');

    // From 150 tags and operations on, Swagger UI renders only those near the viewport: scroll the
    // whole page and collect every operation rendered on the way.
    const operations = new Set<string>();
    for (let previousY = -1; ;) {
      const seen = await page.locator('.opblock-summary').evaluateAll((blocks) => blocks.map((block) =>
        `${block.querySelector('.opblock-summary-method')?.textContent ?? ''} ${block.querySelector('.opblock-summary-path')?.getAttribute('data-path') ?? ''}`));
      for (const operation of seen) operations.add(operation);
      const y = await page.evaluate(() => (globalThis as unknown as { scrollY: number }).scrollY);
      if (y === previousY) break;
      previousY = y;
      await page.mouse.wheel(0, 600);
      await page.waitForTimeout(50);
    }
    expect([...operations]).toEqual(expect.arrayContaining([
      'POST /v1/transfers', 'GET /v1/transfers/{id}', 'POST /v1/payments', 'GET /v1/payments/{id}',
    ]));
    expect(requests).toEqual(expect.arrayContaining([`${origin}/docs`, `${origin}/openapi.json`]));
    expect(requests.filter((url) => new URL(url).origin !== origin)).toEqual([]);
    expect(await page.evaluate(() => (globalThis as unknown as { __violations: string[] }).__violations)).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('serves the pinned swagger-ui-dist with content types and long cache headers', async () => {
    const pinned = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      dependencies: Record<string, string>;
    }).dependencies['swagger-ui-dist'];
    expect(pinned).toMatch(/^\d+\.\d+\.\d+$/);
    const page = await h.app.request('/docs');
    expect(page.headers.get('content-type')).toBe('text/html; charset=UTF-8');
    expect(page.headers.get('cache-control')).toBe('no-cache');
    const text = await page.text();
    expect(text).toContain(`swagger-ui-dist ${pinned}`);
    expect(text).not.toMatch(/<script>|<style>|\sstyle=|\son\w+=/); // nothing inline

    const urls = [...text.matchAll(/(?:src|href)="(\/docs\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    const types = await Promise.all(urls.map(async (url) => {
      const res = await h.app.request(url);
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      return `${url.slice(url.lastIndexOf('.'))} ${res.headers.get('content-type')}`;
    }));
    expect(types.sort()).toEqual([
      '.css text/css; charset=utf-8', '.js text/javascript; charset=utf-8', '.js text/javascript; charset=utf-8', '.png image/png',
    ]);
    const missing = await h.app.request('/docs/assets/swagger-ui-bundle.js');
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toContain('application/json'); // the app's own 404
  });
});
