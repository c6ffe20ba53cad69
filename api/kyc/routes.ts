import { createRoute, z } from '@hono/zod-openapi';
import { KYC_LEVELS, type KycTier } from '../../domain/ledger/types.js';
import { withTransaction } from '../../store/db.js';
import { listKycTiers, upsertKycTier } from '../../store/ledger/kyc-tiers.js';
import { createRouter, tenantOf, type AppDeps } from '../context.js';
import { recordAuditInTransaction } from '../middleware/audit.js';
import { Amount, commonErrors, Currency, jsonBody, jsonResponse, listOf } from '../schemas.js';

const Level = z.enum(KYC_LEVELS).openapi({ param: { name: 'level', in: 'path' }, description: 'none (the default of every account), basic or full.' });

const SetTier = z
  .strictObject({
    currency: Currency,
    per_transaction_max: Amount.nullable().openapi({ description: 'null: no limit.' }),
    daily_debit_max: Amount.nullable().openapi({ description: 'Debits per UTC day (posted and held); null: no limit.' }),
    monthly_debit_max: Amount.nullable().openapi({ description: 'Debits per calendar month (UTC; posted and held); null: no limit.' }),
    balance_max: Amount.nullable().optional().openapi({ description: 'The most a user account may hold; absent or null: no limit.' }),
  })
  .openapi('SetKycTier');

const TierBody = z
  .object({
    object: z.literal('kyc_tier'),
    level: z.enum(KYC_LEVELS),
    currency: z.string(),
    per_transaction_max: z.number().int().nullable(),
    daily_debit_max: z.number().int().nullable(),
    monthly_debit_max: z.number().int().nullable(),
    balance_max: z.number().int().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi('KycTier');

const setTier = createRoute({
  method: 'put', path: '/{level}', tags: ['Wallet'],
  summary: 'Set a KYC tier’s limits for a currency (applies to the next transfer of every account at that level; audit-logged as kyc_tier.update)',
  request: { params: z.strictObject({ level: Level }), body: jsonBody(SetTier) },
  responses: { 200: jsonResponse('The tier', TierBody), ...commonErrors },
});

const listTiers = createRoute({
  method: 'get', path: '/', tags: ['Wallet'],
  summary: 'The tenant’s KYC tiers by level, then currency (all of them: at most one per level and currency)',
  request: {
    query: z.strictObject({
      level: z.enum(KYC_LEVELS).optional().openapi({ param: { name: 'level', in: 'query' } }),
      currency: Currency.optional().openapi({ param: { name: 'currency', in: 'query' } }),
    }),
  },
  responses: { 200: jsonResponse('The tiers', listOf(TierBody)), ...commonErrors },
});

function serializeTier(t: KycTier): z.infer<typeof TierBody> {
  return {
    object: 'kyc_tier', level: t.level, currency: t.currency, ...t.limits,
    created_at: t.createdAt.toISOString(), updated_at: t.updatedAt.toISOString(),
  };
}

/**
 * `/v1/kyc-tiers` (contract §2, tenant key): each KYC level's limits per currency. An account's
 * limits in force are the lower of its own and its tier's, read by every ledger write under the
 * account's lock (schema/0015), never cached.
 */
export function kycTierRoutes({ pool }: AppDeps) {
  return createRouter()
    .openapi(setTier, async (c) => {
      const { level } = c.req.valid('param');
      const body = c.req.valid('json');
      // The audit event commits with the change (a refusal is recorded by the audit middleware).
      const tier = await withTransaction(pool, async (client) => {
        const saved = await upsertKycTier(client, {
          tenantId: tenantOf(c), level, currency: body.currency,
          limits: {
            per_transaction_max: body.per_transaction_max, daily_debit_max: body.daily_debit_max,
            monthly_debit_max: body.monthly_debit_max, balance_max: body.balance_max ?? null,
          },
        });
        await recordAuditInTransaction(client, c, { resourceId: `${level}:${body.currency}`, status: 200 });
        return saved;
      });
      return c.json(serializeTier(tier), 200);
    })
    .openapi(listTiers, async (c) => {
      const { level, currency } = c.req.valid('query');
      const tiers = await listKycTiers(pool, tenantOf(c), { ...(level ? { level } : {}), ...(currency ? { currency } : {}) });
      return c.json({ object: 'list' as const, data: tiers.map(serializeTier), has_more: false }, 200);
    });
}
