/**
 * Release N+1 of the upgrade drill (`npm run drill:upgrade`): one real change to each long-lived
 * workflow, kept as data. Each change adds a workflow command BEFORE the point where a run opened
 * on release N waits at upgrade time, so unguarded it would break that run's replay; guarded the
 * way the README's runbook prescribes (`if (patched(id)) { new } else { old }`) it is safe.
 *
 * The drill applies them by exact match to a copy of workflows/ and fails loudly when an anchor is
 * missing: when one of these workflows changes, update its fixture here (the anchor is the old
 * code as it is today; `next` is that code with the change).
 */

export interface WorkflowEdit {
  /** The exact text today (must occur exactly once in the file). */
  anchor: string;
  /** The text of release N+1. */
  next: string;
  /**
   * true: the edit changes the commands a run records, so the guarded variant becomes
   * `if (patched(id)) { next } else { anchor }` (anchor and next must be whole statements).
   * false: no command changes (a declaration, an await of something already settled): as is in both.
   */
  guarded: boolean;
}

export interface NextReleaseChange {
  /** The workflow type. */
  workflow: 'paymentSaga' | 'leaveApproval' | 'notification';
  /** Relative to workflows/. */
  file: string;
  /** The patch id of the change (the marker new runs record). */
  patchId: string;
  /** One line: what release N+1 changes. */
  description: string;
  /** Names the changed code needs from '@temporalio/workflow' (besides `patched`). */
  imports: string[];
  edits: WorkflowEdit[];
}

export const NEXT_RELEASE: readonly NextReleaseChange[] = [
  {
    workflow: 'paymentSaga',
    file: 'payments/payment-saga.ts',
    patchId: 'payment-requires-capture-status',
    description: 'a manual-capture payment shows BusinessStatus requires_capture while it waits for its capture',
    imports: [],
    edits: [{
      guarded: true,
      anchor: [
        '    capturableMinor = input.amountMinor;',
        "    set('authorized');",
      ].join('\n'),
      next: [
        '    capturableMinor = input.amountMinor;',
        "    set('authorized');",
        '    // What ops filter on: the payment waits for its capture (BusinessStatus = requires_capture).',
        "    if (input.captureMethod === 'manual') setBusinessStatus('requires_capture');",
      ].join('\n'),
    }],
  },
  {
    workflow: 'leaveApproval',
    file: 'hr/leave-approval.ts',
    patchId: 'leave-approver-reminder',
    description: 'the approver gets a reminder halfway to the escalation (a timer of its own beside the escalation\'s; its delay in the memo)',
    imports: ['upsertMemo'],
    edits: [
      {
        guarded: false,
        anchor: '  let busy = false;\n',
        next: '  let busy = false;\n  let reminder: Promise<void> = Promise.resolve();\n',
      },
      {
        guarded: true,
        anchor: "    await hr.notifyApprover({ ...base, approverId, event: 'leave.requested', idempotencyKey: key('notify-requested') });",
        next: [
          "    await hr.notifyApprover({ ...base, approverId, event: 'leave.requested', idempotencyKey: key('notify-requested') });",
          '    // Halfway to the escalation, still undecided: remind the approver (once); ops see when in the memo.',
          '    // (The memo comes first: a timer alone would replay on an old run, taking the escalation timer\'s',
          '    // place in its history, since timers match by sequence; the memo command cannot.)',
          '    upsertMemo({ reminderAfterMs: Math.floor(input.escalationAfterMs / 2) });',
          "    reminder = condition(() => status !== 'pending', Math.floor(input.escalationAfterMs / 2)).then(async (decided) => {",
          "      if (!decided) await hr.notifyApprover({ ...base, approverId, event: 'leave.reminder', idempotencyKey: key('notify-reminder') });",
          '    });',
        ].join('\n'),
      },
      {
        guarded: false,
        anchor: '  await condition(allHandlersFinished);\n',
        next: '  await reminder;\n  await condition(allHandlersFinished);\n',
      },
    ],
  },
  {
    workflow: 'notification',
    file: 'notifications/notification.ts',
    patchId: 'notification-deferred-until-memo',
    description: 'a notification deferred by quiet hours records when it resumes in its memo (deferredUntil)',
    imports: ['upsertMemo'],
    edits: [{
      guarded: true,
      anchor: "    if (!local || waitsFor(plan.deferUntil)) setBusinessStatus('deferred');",
      next: [
        "    if (!local || waitsFor(plan.deferUntil)) setBusinessStatus('deferred');",
        '    // Ops see when a deferred notification resumes (the memo, in the Temporal UI and describe).',
        '    upsertMemo({ deferredUntil: plan.deferUntil });',
      ].join('\n'),
    }],
  },
];

export type Variant = 'guarded' | 'unguarded';

/**
 * A workflow source with `change` applied: `guarded` as the runbook prescribes, `unguarded` as a
 * careless release would ship it (the drill shows that one breaks the old runs' replay).
 */
export function applyChange(source: string, change: NextReleaseChange, variant: Variant): string {
  let text = source;
  for (const edit of change.edits) {
    const at = text.indexOf(edit.anchor);
    if (at < 0 || text.indexOf(edit.anchor, at + 1) >= 0) {
      throw new Error(
        `drill fixture ${change.patchId}: the anchor ${at < 0 ? 'is not' : 'is more than once'} in workflows/${change.file} — ` +
        `the workflow changed: update scripts/drill/next-release.ts.\nAnchor:\n${edit.anchor}`,
      );
    }
    const replacement = edit.guarded && variant === 'guarded' ? guard(change.patchId, edit.anchor, edit.next) : edit.next;
    text = text.slice(0, at) + replacement + text.slice(at + edit.anchor.length);
  }
  const needed = [...(variant === 'guarded' ? ['patched'] : []), ...change.imports].filter((name) => !importsFromWorkflow(text, name));
  return needed.length > 0 ? `import { ${needed.join(', ')} } from '@temporalio/workflow';\n${text}` : text;
}

/** `if (patched(id)) { next } else { old }`, indented one level deeper than the anchor. */
function guard(patchId: string, old: string, next: string): string {
  const indent = /^ */.exec(old)?.[0] ?? '';
  const deeper = (code: string) => code.split('\n').map((line) => (line ? `  ${line}` : line)).join('\n');
  const trailing = old.endsWith('\n') ? '\n' : '';
  return [
    `${indent}if (patched('${patchId}')) {`,
    deeper(next.replace(/\n$/, '')),
    `${indent}} else {`,
    deeper(old.replace(/\n$/, '')),
    `${indent}}`,
  ].join('\n') + trailing;
}

function importsFromWorkflow(source: string, name: string): boolean {
  return [...source.matchAll(/import\s*\{([^}]*)\}\s*from\s*'@temporalio\/workflow'/g)]
    .some((m) => m[1]!.split(',').map((s) => s.trim()).includes(name));
}
