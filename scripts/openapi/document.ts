import openapiTS, { astToString, COMMENT_HEADER } from 'openapi-typescript';
import { fileURLToPath } from 'node:url';
import { createApp } from '../../api/app.js';
import type { AppDeps } from '../../api/context.js';
import { loadConfig } from '../../platform/config.js';

/** The client package's generated files (committed, checked by packages/client/generated.test.ts). */
export const CLIENT_OPENAPI_PATH = fileURLToPath(new URL('../../packages/client/openapi.json', import.meta.url));
export const CLIENT_SCHEMA_PATH = fileURLToPath(new URL('../../packages/client/src/schema.d.ts', import.meta.url));

/**
 * A dependency the document never needs: building the app only registers routes, and serving
 * `/openapi.json` touches no database, Redis or Temporal. Any use fails loudly, naming it, so a
 * route factory that starts doing I/O at construction shows up here rather than as a hang.
 */
function unused<T>(name: string): T {
  return new Proxy({}, {
    get(_target, property) {
      throw new Error(`openapi document: ${name}.${String(property)} was used; building the document must not touch ${name}`);
    },
  }) as T;
}

/**
 * The API's OpenAPI 3.1 document as `GET /openapi.json` serves it, without a server or any
 * connection: the app is built on stub dependencies and asked in process. The configuration is
 * the defaults (not this process's environment), so the document is the same on every machine.
 */
export async function openApiDocument(): Promise<Record<string, unknown>> {
  const deps: AppDeps = {
    config: loadConfig({}),
    adminApiKey: 'sk_admin_openapi_document_only',
    pool: unused('pool'),
    redis: unused('redis'),
    temporal: unused('temporal'),
    cache: unused('cache'),
    inboxListener: unused('inboxListener'),
    rateLimiter: unused('rateLimiter'),
  };
  const res = await createApp(deps).request('/openapi.json');
  if (res.status !== 200) throw new Error(`openapi document: GET /openapi.json answered ${res.status}`);
  return (await res.json()) as Record<string, unknown>;
}

/** The committed form of the document: stable key order as served, two-space indent, final newline. */
export function documentText(document: Record<string, unknown>): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}

/** `src/schema.d.ts`: the document's paths, operations and components as TypeScript types. */
export async function schemaText(document: Record<string, unknown>, options: { silent?: boolean } = {}): Promise<string> {
  const ast = await openapiTS(document as unknown as Parameters<typeof openapiTS>[0], {
    silent: options.silent ?? false,
    // Optional properties stay optional even with a default: the server fills them in, callers may omit them.
    defaultNonNullable: false,
    alphabetize: false,
  });
  return COMMENT_HEADER + astToString(ast);
}
