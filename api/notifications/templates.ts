import { createRoute } from '@hono/zod-openapi';
import { errors } from '../errors.js';
import { checkLocales } from '../../domain/notifications/locales.js';
import { validateTemplate } from '../../domain/notifications/render.js';
import type { TemplateChannels, TemplateLocales } from '../../domain/notifications/types.js';
import { withTransaction } from '../../store/db.js';
import { createTemplate, findTemplate, listTemplates, updateTemplate } from '../../store/notifications/templates.js';
import { recordAuditInTransaction } from '../middleware/audit.js';
import { createRouter, tenantOf, type AppDeps } from '../context.js';
import { commonErrors, IdParam, idempotencyHeader, jsonBody, jsonResponse, ListQuery, listOf } from '../schemas.js';
import { bracketParam, CreateTemplate, TemplateBody, UpdateTemplate } from './schemas.js';

const routes = {
  create: createRoute({
    method: 'post', path: '/', tags: ['Notifications'], summary: 'Create a notification template',
    description: 'An id the tenant already uses answers 409 resource_exists (update it with POST /{id}). '
      + 'Creating a template with the id of a built-in one overrides it for the tenant.',
    request: { body: jsonBody(CreateTemplate), headers: idempotencyHeader },
    responses: { 201: jsonResponse('The template', TemplateBody), ...commonErrors },
  }),
  update: createRoute({
    method: 'post', path: '/{id}', tags: ['Notifications'], summary: 'Replace the channels of one of the tenant’s templates',
    request: { params: IdParam, body: jsonBody(UpdateTemplate), headers: idempotencyHeader },
    responses: { 200: jsonResponse('The template', TemplateBody), ...commonErrors },
  }),
  get: createRoute({
    method: 'get', path: '/{id}', tags: ['Notifications'],
    summary: 'A template: the tenant’s own, else the built-in one with this id (source: built_in)',
    request: { params: IdParam },
    responses: { 200: jsonResponse('The template', TemplateBody), ...commonErrors },
  }),
  list: createRoute({
    method: 'get', path: '/', tags: ['Notifications'], summary: 'The tenant’s own templates, by id',
    request: { query: ListQuery },
    responses: { 200: jsonResponse('Templates', listOf(TemplateBody)), ...commonErrors },
  }),
};

/**
 * Syntax errors, partials and unescaped email output are refused up front, not at send time, in
 * the default channels and in every locale variant; answers the locales with canonical tags.
 */
function checkTemplate(channels: TemplateChannels, locales: Record<string, TemplateChannels> = {}): TemplateLocales {
  const checked = checkLocales(locales, channels);
  const [problem] = [...validateTemplate(channels), ...checked.problems];
  if (problem) throw errors.parameterInvalid(bracketParam(problem.param), problem.message);
  return checked.locales;
}

/** `/v1/notification-templates` */
export function notificationTemplateRoutes({ pool }: AppDeps) {
  return createRouter()
    .openapi(routes.create, async (c) => {
      const body = c.req.valid('json');
      const locales = checkTemplate(body.channels, body.locales);
      // The audit event commits with the change (a refusal is recorded by the audit middleware).
      const template = await withTransaction(pool, async (client) => {
        const inserted = await createTemplate(client, tenantOf(c), body.id, body.channels, locales);
        await recordAuditInTransaction(client, c, { resourceId: inserted.id, status: 201 });
        return inserted;
      });
      return c.json(template, 201);
    })
    .openapi(routes.update, async (c) => {
      const { channels, locales: given } = c.req.valid('json');
      const locales = checkTemplate(channels, given);
      const template = await withTransaction(pool, async (client) => {
        const updated = await updateTemplate(client, tenantOf(c), c.req.valid('param').id, channels, locales);
        if (updated) await recordAuditInTransaction(client, c, { resourceId: updated.id, status: 200 });
        return updated;
      });
      if (!template) throw errors.resourceMissing('notification template', 'id');
      return c.json(template, 200);
    })
    .openapi(routes.get, async (c) => {
      const template = await findTemplate(pool, tenantOf(c), c.req.valid('param').id);
      if (!template) throw errors.resourceMissing('notification template', 'id');
      return c.json(template, 200);
    })
    .openapi(routes.list, async (c) => {
      const q = c.req.valid('query');
      return c.json(await listTemplates(pool, tenantOf(c), { limit: q.limit, startingAfter: q.starting_after }), 200);
    });
}
