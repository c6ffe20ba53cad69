import { OpenAPIHono } from '@hono/zod-openapi';
import { requestId } from 'hono/request-id';
import { secureHeaders } from 'hono/secure-headers';
import { accountRoutes } from './accounts/routes.js';
import { adminProductRoutes } from './admin/products.js';
import { tenantRoutes } from './admin/tenants.js';
import { apiKeyRoutes } from './admin/api-keys.js';
import { actorSigningKeyRoutes } from './security/actor-signing-keys.js';
import type { AppDeps, AppEnv } from './context.js';
import { docsRoutes } from './docs/routes.js';
import { healthRoutes } from './health/routes.js';
import { codecCors, codecRoutes } from './codec/routes.js';
import { accessLog } from './middleware/access-log.js';
import { requestIdOfTrace, tracing } from './middleware/tracing.js';
import { authenticate } from './middleware/auth.js';
import { notFound, onError } from './middleware/errors.js';
import { idempotency } from './middleware/idempotency.js';
import { jsonBody } from './middleware/json-body.js';
import { apiRateLimiter, limitAdminKey, limitApiKey, limitUnauthenticated } from './middleware/rate-limit.js';
import { httpMetrics, metricsEndpoint } from './middleware/metrics.js';
import { ledgerAuditRoutes } from './ops/ledger-audit.js';
import { workflowOpsRoutes } from './ops/workflows.js';
import { deadLetterRoutes } from './ops/dead-letters.js';
import { auditLogRoutes, opsAuditLogRoutes } from './audit/routes.js';
import { auditLog } from './middleware/audit.js';
import { notificationRoutes } from './notifications/notifications.js';
import { notificationTemplateRoutes } from './notifications/templates.js';
import { topicRoutes } from './notifications/topics.js';
import { broadcastRoutes } from './notifications/broadcasts.js';
import { userRoutes } from './notifications/users.js';
import { webhookEndpointRoutes } from './notifications/webhook-endpoints.js';
import { providerCallbackRoutes } from './notifications/provider-callbacks.js';
import { topUpRoutes } from './topups/routes.js';
import { kycTierRoutes } from './kyc/routes.js';
import { transferRoutes } from './transfers/routes.js';
import { paymentRoutes } from './payments/routes.js';
import { employeeRoutes } from './hr/employees.js';
import { offboardingRoutes } from './hr/offboarding.js';
import { compensationRoutes } from './payroll/compensation.js';
import { payrollRuleRoutes } from './payroll/rules.js';
import { payrollRunRoutes } from './payroll/runs.js';
import { reviewCycleRoutes, reviewRoutes } from './hr/reviews.js';
import { leaveRequestRoutes } from './hr/leave-requests.js';
import { candidateRoutes, interviewRoutes, jobRoutes } from './hr/recruitment.js';
import { candidateOfferRoutes, offerRoutes } from './hr/offers.js';
import { holidayRoutes, leaveTypeRoutes } from './hr/reference.js';
import { exchangeRateRoutes } from './reference/exchange-rates.js';
import { fxQuoteRoutes } from './fx/quotes.js';
import { productRoutes } from './reference/products.js';
import { riskRoutes } from './risk/routes.js';
import { createCacheClosedWith } from '../platform/cache/index.js';

/** The HTTP API: one sub-app per resource, one error handler, the contract's middleware chain. */
export function createApp(deps: AppDeps) {
  const app = new OpenAPIHono<AppEnv>();
  app.onError(onError);
  app.notFound(notFound);
  app.use('*', tracing()); // the request's server span (continues a caller's traceparent), answered in `traceparent`
  app.use('*', httpMetrics());
  app.use('*', requestId({ headerName: 'Request-Id', generator: requestIdOfTrace })); // the trace id when the trace is ours
  app.use('*', accessLog()); // the request's logger (request id, then tenant id) and one access line per request
  app.use('*', secureHeaders());

  const rateLimiter = apiRateLimiter(deps);
  const limits = { limiter: rateLimiter, routes: deps.config.RATE_LIMIT_ROUTES, trustProxyHops: deps.config.TRUST_PROXY };
  app.route('/', healthRoutes({ ...deps, rateLimiter }));
  // The same limits as /v1: bad keys per client IP, the admin key's scrapes under its `default` policy.
  app.use('/metrics', limitUnauthenticated(limits), limitAdminKey({ ...limits, adminApiKey: deps.adminApiKey }));
  app.get('/metrics', metricsEndpoint(deps));
  // The Temporal UI's codec server (issue #13): CORS first, so a refusal is readable by the UI.
  app.use('/codec/*', codecCors(deps.config), limitUnauthenticated(limits), limitAdminKey({ ...limits, adminApiKey: deps.adminApiKey }));
  app.route('/codec', codecRoutes(deps));
  const cache = deps.cache ?? createCacheClosedWith(deps.redis, deps.config);
  // Provider receipts (contract §10) are signed by the provider and carry no API key: answered before the key chain.
  app.use('/v1/provider-callbacks/*', limitUnauthenticated(limits), jsonBody());
  app.route('/v1/provider-callbacks', providerCallbackRoutes(deps));
  app.use('/v1/*', limitUnauthenticated(limits)); // counts bad keys per IP: must wrap authenticate
  app.use('/v1/*', authenticate({ pool: deps.pool, adminApiKey: deps.adminApiKey }));
  app.use('/v1/*', limitApiKey(limits));
  app.use('/v1/*', auditLog({ pool: deps.pool })); // after auth and the key's rate limit; records refusals below it
  app.use('/v1/*', jsonBody());
  app.use('/v1/*', idempotency({
    pool: deps.pool,
    redis: deps.redis,
    retentionHours: deps.config.IDEMPOTENCY_RETENTION_HOURS,
    inFlightWaitMs: deps.config.IDEMPOTENCY_IN_FLIGHT_WAIT_MS,
    lockTimeoutMs: deps.config.IDEMPOTENCY_LOCK_TIMEOUT_MS,
  }));

  const routes = app
    .route('/v1/admin/tenants', tenantRoutes(deps))
    .route('/v1/admin/tenants', apiKeyRoutes(deps))
    .route('/v1/actor-signing-keys', actorSigningKeyRoutes(deps))
    .route('/v1/accounts', accountRoutes(deps))
    .route('/v1/kyc-tiers', kycTierRoutes(deps))
    .route('/v1/topups', topUpRoutes(deps))
    .route('/v1/transfers', transferRoutes(deps))
    .route('/v1/payments', paymentRoutes(deps))
    .route('/v1/risk', riskRoutes(deps))
    .route('/v1/employees', employeeRoutes(deps))
    .route('/v1/employees', compensationRoutes(deps))
    .route('/v1/employees', offboardingRoutes(deps))
    .route('/v1/payroll/rules', payrollRuleRoutes(deps))
    .route('/v1/payroll-runs', payrollRunRoutes(deps))
    .route('/v1/leave-types', leaveTypeRoutes(deps))
    .route('/v1/holidays', holidayRoutes(deps))
    .route('/v1/leave-requests', leaveRequestRoutes(deps))
    .route('/v1/jobs', jobRoutes(deps))
    .route('/v1/candidates', candidateRoutes(deps))
    .route('/v1/candidates', candidateOfferRoutes(deps))
    .route('/v1/interviews', interviewRoutes(deps))
    .route('/v1/offers', offerRoutes(deps))
    .route('/v1/review-cycles', reviewCycleRoutes(deps))
    .route('/v1/reviews', reviewRoutes(deps))
    .route('/v1/ops/ledger/audit', ledgerAuditRoutes(deps))
    .route('/v1/ops/workflows', workflowOpsRoutes(deps))
    .route('/v1/notification-templates', notificationTemplateRoutes(deps))
    .route('/v1/topics', topicRoutes(deps))
    .route('/v1/broadcasts', broadcastRoutes(deps))
    .route('/v1/users', userRoutes({ ...deps, cache }))
    .route('/v1/notifications', notificationRoutes(deps))
    .route('/v1/webhook-endpoints', webhookEndpointRoutes(deps))
    .route('/v1/ops/dead-letters', deadLetterRoutes(deps))
    .route('/v1/audit-log', auditLogRoutes(deps))
    .route('/v1/ops/audit-log', opsAuditLogRoutes(deps))
    .route('/v1/exchange-rates', exchangeRateRoutes({ config: deps.config, cache }))
    .route('/v1/fx/quotes', fxQuoteRoutes({ config: deps.config, pool: deps.pool, cache }))
    .route('/v1/products', productRoutes({ pool: deps.pool, cache }))
    .route('/v1/admin/products', adminProductRoutes({ pool: deps.pool, cache }));

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', { type: 'http', scheme: 'bearer' });
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: 'Steadfast API',
      version: '1.0.0',
      description: [
        'Durable money movement on Temporal. Amounts are integers in the currency’s minor unit.',
        'Every /v1 request is rate limited (per API key; per client IP without a valid key; tighter policies per route',
        'where configured). Answers carry `RateLimit-Policy`, `RateLimit` (IETF draft) and `X-RateLimit-Limit`,',
        '`X-RateLimit-Remaining`, `X-RateLimit-Reset`; a refused request gets `429 rate_limit_error rate_limited` with',
        '`Retry-After` (seconds), and `503 api_error` with `Retry-After` when a fail-closed policy cannot be checked.',
      ].join(' '),
    },
    servers: [{ url: `http://${deps.config.HOST}:${deps.config.PORT}` }],
    security: [{ bearerAuth: [] }],
  });
  app.route('/', docsRoutes({ path: '/docs', openApiUrl: '/openapi.json', title: 'Steadfast API' })); // pinned, offline, with a CSP
  return routes;
}

export type AppType = ReturnType<typeof createApp>;
