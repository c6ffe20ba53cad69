/**
 * `npm run client:generate`: writes the API's OpenAPI document to packages/client/openapi.json and
 * the client's types to packages/client/src/schema.d.ts (openapi-typescript). Part of
 * `npm run build`; packages/client/generated.test.ts fails when the committed files are stale.
 */
import { writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { setDefaultLogLevel, setLogService } from '../../platform/log.js';
import { CLIENT_OPENAPI_PATH, CLIENT_SCHEMA_PATH, documentText, openApiDocument, schemaText } from './document.js';

setLogService('client-generate');
// The app logs its one in-process request (`GET /openapi.json`): not this script's output.
setDefaultLogLevel('warn');

const document = await openApiDocument();
writeFileSync(CLIENT_OPENAPI_PATH, documentText(document));
writeFileSync(CLIENT_SCHEMA_PATH, await schemaText(document));
for (const file of [CLIENT_OPENAPI_PATH, CLIENT_SCHEMA_PATH]) process.stdout.write(`wrote ${relative(process.cwd(), file)}\n`);
