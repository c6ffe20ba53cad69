import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { upsertSearchAttributes } from '@temporalio/workflow';

/** Custom search attributes every run carries, so ops can filter runs in the Temporal UI. */
export const TenantId = defineSearchAttributeKey('TenantId', SearchAttributeType.KEYWORD);
export const BusinessStatus = defineSearchAttributeKey('BusinessStatus', SearchAttributeType.KEYWORD);

/** Set by the server (not by us) on every versioned run: `deployment:buildId` of the version it is on. */
export const WorkerDeploymentVersion = defineSearchAttributeKey('TemporalWorkerDeploymentVersion', SearchAttributeType.KEYWORD);

/** Registered on the dev server (`--search-attribute`) and in production with `temporal operator`. */
export const CUSTOM_SEARCH_ATTRIBUTES = { TenantId: 'Keyword', BusinessStatus: 'Keyword' } as const;

/** Keeps the run's `BusinessStatus` current (call from workflow code only). */
export function setBusinessStatus(status: string): void {
  upsertSearchAttributes([{ key: BusinessStatus, value: status }]);
}
