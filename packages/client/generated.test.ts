import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CLIENT_OPENAPI_PATH, CLIENT_SCHEMA_PATH, documentText, openApiDocument, schemaText } from '../../scripts/openapi/document.js';

/** The committed openapi.json and src/schema.d.ts are what the API's routes generate today. */
describe('the client’s generated files', () => {
  it('openapi.json and src/schema.d.ts match the API (else: run npm run client:generate)', async () => {
    const document = await openApiDocument();
    const stale = 'is stale: run npm run client:generate and commit the result';
    expect(documentText(document) === readFileSync(CLIENT_OPENAPI_PATH, 'utf8'), `packages/client/openapi.json ${stale}`).toBe(true);
    expect(await schemaText(document, { silent: true }) === readFileSync(CLIENT_SCHEMA_PATH, 'utf8'), `packages/client/src/schema.d.ts ${stale}`).toBe(true);
    // The document is the served one: the wallet's operations are in it.
    expect(Object.keys(document.paths as object)).toEqual(expect.arrayContaining(['/v1/accounts', '/v1/topups', '/v1/transfers', '/v1/transfers/{id}']));
  });
});
