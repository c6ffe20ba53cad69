import { Hono, type MiddlewareHandler } from 'hono';
import { html } from 'hono/html';
import { docsAssets } from './assets.js';

/**
 * The page's policy: everything from this origin, nothing inline, nothing from elsewhere.
 * `img-src data:` because swagger-ui.css draws its icons as `data:` SVG URIs (inside the
 * stylesheet, no network request).
 */
export const DOCS_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** A year: the asset names carry a hash of their bytes, so a changed file is a new URL. */
const ASSET_CACHE_CONTROL = 'public, max-age=31536000, immutable';

/**
 * `GET <path>`: the rendered API reference (Swagger UI) of `openApiUrl`, served from the installed
 * `swagger-ui-dist` with a Content-Security-Policy, and its assets under `<path>/assets/`.
 *
 * @example app.route('/', docsRoutes({ path: '/docs', openApiUrl: '/openapi.json', title: 'Steadfast API' }))
 */
export function docsRoutes(options: { path: string; openApiUrl: string; title: string }) {
  const assets = docsAssets();
  const assetUrl = (name: string) => `${options.path}/assets/${name}`;
  const page = html`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="swagger-ui-dist ${assets.swaggerUiVersion}">
<title>${options.title}</title>
<link rel="icon" type="image/png" href="${assetUrl(assets.icon.name)}">
<link rel="stylesheet" href="${assetUrl(assets.stylesheet.name)}">
</head>
<body>
<div id="swagger-ui" data-openapi-url="${options.openApiUrl}"></div>
<script src="${assetUrl(assets.script.name)}"></script>
<script src="${assetUrl(assets.initialiser.name)}"></script>
</body>
</html>
`;

  return new Hono()
    .use(`${options.path}/*`, contentSecurityPolicy())
    .get(options.path, (c) => {
      c.header('Cache-Control', 'no-cache');
      return c.html(page);
    })
    .get(`${options.path}/assets/:name`, (c) => {
      const file = assets.byName.get(c.req.param('name'));
      if (!file) return c.notFound();
      return c.body(file.body, 200, { 'Content-Type': file.contentType, 'Cache-Control': ASSET_CACHE_CONTROL });
    });
}

/** Sets `DOCS_CSP` on the answers below it (the app's `secureHeaders()` sets no CSP of its own). */
function contentSecurityPolicy(): MiddlewareHandler {
  return async function docsContentSecurityPolicy(c, next) {
    await next();
    c.header('Content-Security-Policy', DOCS_CSP);
  };
}
