import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/**
 * The API reference's files: Swagger UI from the installed `swagger-ui-dist` (pinned exactly in
 * package.json), never from a CDN, plus our initialiser. Read once per process; each is served
 * under a name carrying a hash of its bytes, so it can be cached for a year and an upgrade of the
 * package changes the URL.
 */
export interface DocsAsset {
  /** The served file name, e.g. `swagger-ui-bundle.3f2a1b9c0d4e.js`. */
  name: string;
  contentType: string;
  body: Uint8Array<ArrayBuffer>;
}

export interface DocsAssets {
  /** `swagger-ui-dist`'s version, as installed. */
  swaggerUiVersion: string;
  script: DocsAsset;
  stylesheet: DocsAsset;
  icon: DocsAsset;
  initialiser: DocsAsset;
  byName: ReadonlyMap<string, DocsAsset>;
}

const JS = 'text/javascript; charset=utf-8';
const CSS = 'text/css; charset=utf-8';
const PNG = 'image/png';

/**
 * Starts Swagger UI on the element `#swagger-ui`, with the spec URL from its `data-openapi-url`:
 * a served file, not an inline script, so the page's CSP needs no 'unsafe-inline' for scripts.
 */
const INITIALISER = `'use strict';
(function () {
  var root = document.getElementById('swagger-ui');
  window.ui = window.SwaggerUIBundle({
    url: root.dataset.openapiUrl,
    domNode: root,
    deepLinking: true,
    // The default sends the spec's URL to validator.swagger.io (a third-party origin).
    validatorUrl: null,
  });
})();
`;

const require = createRequire(import.meta.url);

function asset(file: string, contentType: string, body: Uint8Array<ArrayBuffer>): DocsAsset {
  const hash = createHash('sha256').update(body).digest('hex').slice(0, 12);
  const dot = file.lastIndexOf('.');
  return { name: `${file.slice(0, dot)}.${hash}${file.slice(dot)}`, contentType, body };
}

function fromPackage(file: string, contentType: string): DocsAsset {
  return asset(file, contentType, new Uint8Array(readFileSync(require.resolve(`swagger-ui-dist/${file}`))));
}

let loaded: DocsAssets | undefined;

/** The assets, read from node_modules on the first call (start-up: a missing package fails there). */
export function docsAssets(): DocsAssets {
  if (loaded) return loaded;
  const { version } = JSON.parse(readFileSync(require.resolve('swagger-ui-dist/package.json'), 'utf8')) as { version: string };
  const script = fromPackage('swagger-ui-bundle.js', JS);
  const stylesheet = fromPackage('swagger-ui.css', CSS);
  const icon = fromPackage('favicon-32x32.png', PNG);
  const initialiser = asset('swagger-init.js', JS, new Uint8Array(new TextEncoder().encode(INITIALISER)));
  const all = [script, stylesheet, icon, initialiser];
  loaded = { swaggerUiVersion: version, script, stylesheet, icon, initialiser, byName: new Map(all.map((a) => [a.name, a])) };
  return loaded;
}
