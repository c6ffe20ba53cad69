/**
 * THE table of audited routes: every state-changing route (POST, PUT, PATCH, DELETE) by method and
 * Hono route pattern → its audit `action` (`<resource>.<verb>`), `resource_type`, and where the
 * `resource_id` comes from. A test walks `/openapi.json` and fails for any state-changing
 * operation missing here, so a new route cannot be forgotten.
 */

/** Where an entry's `resource_id` comes from: a path parameter, or a field of the JSON answer (creates). */
export type ResourceIdSource = { param: string } | { response: string };

export interface AuditedRoute {
  action: string;
  resourceType: string;
  resourceId: ResourceIdSource;
  /** Admin routes acting on one tenant: the path parameter naming it (the entry then shows in that tenant's log). */
  tenantParam?: string;
}

/** A create: the new resource's id is in the answer. */
const created = (type: string, field = 'id'): AuditedRoute => ({ action: `${type}.create`, resourceType: type, resourceId: { response: field } });
/** A verb on the resource a path parameter names. */
const on = (type: string, verb: string, param = 'id'): AuditedRoute => ({ action: `${type}.${verb}`, resourceType: type, resourceId: { param } });

export const AUDITED_ROUTES: Readonly<Record<string, AuditedRoute>> = {
  // Admin (admin key)
  'POST /v1/admin/tenants': created('tenant'),
  'POST /v1/admin/tenants/:id/api-keys': { ...created('api_key'), tenantParam: 'id' },
  'DELETE /v1/admin/tenants/:id/api-keys/:key_id': { ...on('api_key', 'revoke', 'key_id'), tenantParam: 'id' },
  'PUT /v1/admin/products/:id': on('product', 'update'),
  // Ops (admin key)
  'POST /v1/ops/workflows/:workflow_id/cancel': on('workflow', 'cancel', 'workflow_id'),
  'POST /v1/ops/workflows/:workflow_id/terminate': on('workflow', 'terminate', 'workflow_id'),
  'POST /v1/ops/workflows/:workflow_id/retry': on('workflow', 'retry', 'workflow_id'),
  'POST /v1/ops/dead-letters/:id/retry': on('dead_letter', 'retry'),
  // Keys a tenant holds
  'POST /v1/actor-signing-keys': created('actor_signing_key'),
  'DELETE /v1/actor-signing-keys/:id': on('actor_signing_key', 'delete'),
  // Wallet
  'POST /v1/accounts': created('account'),
  'POST /v1/accounts/:id': on('account', 'update'),
  'POST /v1/topups': created('topup'),
  'POST /v1/transfers': created('transfer'),
  'POST /v1/fx/quotes': created('fx_quote'),
  'PUT /v1/kyc-tiers/:level': on('kyc_tier', 'update', 'level'),
  // Payments
  'POST /v1/payments': created('payment'),
  'POST /v1/payments/:id/capture': on('payment', 'capture'),
  'POST /v1/payments/:id/cancel': on('payment', 'cancel'),
  'POST /v1/payments/:id/refunds': on('payment', 'refund'),
  // Risk
  'PUT /v1/risk/settings': { action: 'risk_settings.update', resourceType: 'risk_settings', resourceId: { response: 'object' } },
  'POST /v1/risk/blocklist': created('blocklist_entry'),
  'DELETE /v1/risk/blocklist/:id': on('blocklist_entry', 'delete'),
  'POST /v1/risk/reviews/:id/approve': on('risk_review', 'approve'),
  'POST /v1/risk/reviews/:id/decline': on('risk_review', 'decline'),
  // HR
  'POST /v1/employees': created('employee'),
  'POST /v1/employees/:id': on('employee', 'update'),
  'POST /v1/employees/:id/leave-allocations': on('employee', 'allocate_leave'),
  'POST /v1/employees/:id/terminate': on('employee', 'terminate'),
  'POST /v1/leave-types': { ...created('leave_type', 'code'), action: 'leave_type.upsert' },
  'POST /v1/holidays': created('holiday', 'date'),
  'POST /v1/leave-requests': created('leave_request'),
  'POST /v1/leave-requests/:id/approve': on('leave_request', 'approve'),
  'POST /v1/leave-requests/:id/reject': on('leave_request', 'reject'),
  'POST /v1/leave-requests/:id/cancel': on('leave_request', 'cancel'),
  // Payroll
  'POST /v1/employees/:id/compensation': created('compensation'),
  'PUT /v1/payroll/rules/:country': on('payroll_rules', 'update', 'country'),
  'POST /v1/payroll-runs': created('payroll_run'),
  'POST /v1/payroll-runs/:id/approve': on('payroll_run', 'approve'),
  'POST /v1/payroll-runs/:id/cancel': on('payroll_run', 'cancel'),
  'POST /v1/payroll-runs/:id/retry-failed': on('payroll_run', 'retry_failed'),
  // Performance reviews (issue #21)
  'POST /v1/review-cycles': created('review_cycle'),
  'POST /v1/review-cycles/:id/close': on('review_cycle', 'close'),
  'POST /v1/reviews/:id/self': on('review', 'submit_self'),
  'POST /v1/reviews/:id/manager': on('review', 'submit_manager'),
  // Recruitment (contract §11)
  'POST /v1/jobs': created('job'),
  'POST /v1/candidates': created('candidate'),
  'POST /v1/candidates/:id/advance': on('candidate', 'advance'),
  'POST /v1/candidates/:id/interviews': created('interview'),
  'POST /v1/candidates/:id/offer': created('offer'),
  'POST /v1/interviews/:id/feedback': on('interview', 'feedback'),
  'POST /v1/offers/:id/approve': on('offer', 'approve'),
  'POST /v1/offers/:id/reject': on('offer', 'reject'),
  'POST /v1/offers/:id/accept': on('offer', 'accept'),
  'POST /v1/offers/:id/decline': on('offer', 'decline'),
  // Notifications
  'POST /v1/notification-templates': created('notification_template'),
  'POST /v1/topics': created('topic', 'key'),
  'POST /v1/topics/:key/subscribers': on('topic', 'subscribe', 'key'),
  'DELETE /v1/topics/:key/subscribers/:user_id': on('topic', 'unsubscribe', 'key'),
  'POST /v1/broadcasts': created('broadcast'),
  'POST /v1/broadcasts/:id/cancel': on('broadcast', 'cancel'),
  'POST /v1/notification-templates/:id': on('notification_template', 'update'),
  'PUT /v1/users/:user_id/contacts': on('user', 'update_contacts', 'user_id'),
  'PUT /v1/users/:user_id/notification-preferences': on('user', 'update_notification_preferences', 'user_id'),
  'POST /v1/users/:user_id/inbox/:message_id/read': on('inbox_message', 'read', 'message_id'),
  'POST /v1/notifications': created('notification'),
  'POST /v1/notifications/:id/cancel': on('notification', 'cancel'),
  'POST /v1/webhook-endpoints': created('webhook_endpoint'),
  'POST /v1/webhook-endpoints/:id/rotate-secret': on('webhook_endpoint', 'rotate_secret'),
  'DELETE /v1/webhook-endpoints/:id': on('webhook_endpoint', 'delete'),
};

/**
 * State-changing routes the audit log does not record, each with why: they are nobody's API-key
 * action. The walk test accepts an entry here instead of one in AUDITED_ROUTES.
 */
export const UNAUDITED_ROUTES: Readonly<Record<string, string>> = {
  'POST /v1/provider-callbacks/:provider':
    'a provider’s signed delivery receipt (contract §10), answered before the API-key chain; what it changes shows on the delivery',
};

/** The methods that change state: every request with one of them is audited. */
export const STATE_CHANGING_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The audited route for a method and Hono route pattern (`/v1/payments/:id/capture`), if any. */
export function auditedRoute(method: string, pattern: string): AuditedRoute | undefined {
  return AUDITED_ROUTES[`${method} ${pattern}`];
}
