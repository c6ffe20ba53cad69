import type { TemplateChannels } from './types.js';

/**
 * Built-in templates for the domain events the outbox carries. A tenant overrides one by creating
 * a template with the same id (`POST /v1/notification-templates {id: "transfer.received", ...}`).
 */
export const DEFAULT_TEMPLATES: Readonly<Record<string, TemplateChannels>> = {
  'transfer.sent': {
    in_app: { title: 'Transfer sent', body: 'You sent {{amount}} {{currency}} ({{transfer_id}}).' },
    push: { title: 'Transfer sent', body: 'You sent {{amount}} {{currency}}.' },
  },
  'transfer.received': {
    in_app: { title: 'Money received', body: 'You received {{amount}} {{currency}} ({{transfer_id}}).' },
    push: { title: 'Money received', body: 'You received {{amount}} {{currency}}.' },
  },
  'leave.requested': {
    email: {
      subject: 'Leave request from {{employee_name}}',
      body: '<p>{{employee_name}} asks for leave from {{start_date}} to {{end_date}} ({{days}} days).</p>',
    },
    in_app: { title: 'Leave request to decide', body: '{{employee_name}}: {{start_date}} to {{end_date}} ({{days}} days).' },
  },
  'leave.decided': {
    email: {
      subject: 'Your leave request was {{decision}}',
      body: '<p>Your leave from {{start_date}} to {{end_date}} was {{decision}}.</p>',
    },
    in_app: { title: 'Leave request {{decision}}', body: 'Your leave from {{start_date}} to {{end_date}} was {{decision}}.' },
  },
  // The e-mail digest (issue #20): `{{messages}}` is the list of held messages, built and escaped
  // by domain/notifications/digest.ts; `{{count}}` how many there are.
  digest: {
    email: {
      subject: 'Your {{count}} notifications',
      body: '<p>You have {{count}} notifications since your last digest:</p>{{messages}}',
    },
  },
  'payroll.paid': {
    email: {
      subject: 'Your pay for {{period}}',
      body: '<p>Your net pay of {{amount}} {{currency}} for {{period}} is in your wallet ({{transfer_id}}).</p>',
    },
    in_app: { title: 'Pay for {{period}}', body: 'You were paid {{amount}} {{currency}} for {{period}}.' },
  },
};
