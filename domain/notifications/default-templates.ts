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
  // Recruitment (issue #21): the interviewer before the slot, the approver of an offer, the
  // candidate (by the e-mail they applied with) once the offer is approved, the hiring manager of the outcome.
  'interview.reminder': {
    email: {
      subject: 'Interview with {{candidate_name}} at {{at}}',
      body: '<p>You interview {{candidate_name}} for {{job_title}} at {{at}} (UTC).</p>',
    },
    in_app: { title: 'Interview coming up', body: '{{candidate_name}} ({{job_title}}) at {{at}} UTC.' },
  },
  'offer.approval_requested': {
    email: {
      subject: 'Offer to {{candidate_name}} to approve',
      body: '<p>An offer to {{candidate_name}} for {{job_title}}: {{annual_salary_display}} {{currency}} a year from {{start_date}}. Approve or reject it before {{expires_at}}.</p>',
    },
    in_app: { title: 'Offer to approve', body: '{{candidate_name}} ({{job_title}}): {{annual_salary_display}} {{currency}} a year.' },
  },
  'offer.extended': {
    email: {
      subject: 'Your offer for {{job_title}}',
      body: '<p>Dear {{candidate_name}}, we offer you the position of {{job_title}} at {{annual_salary_display}} {{currency}} a year, starting {{start_date}}. The offer is open until {{expires_at}}.</p>',
    },
  },
  'offer.decided': {
    email: {
      subject: 'Offer to {{candidate_name}}: {{decision}}',
      body: '<p>The offer to {{candidate_name}} for {{job_title}} was {{decision}}.</p>',
    },
    in_app: { title: 'Offer {{decision}}', body: '{{candidate_name}} ({{job_title}}): {{decision}}.' },
  },
  // Performance reviews (issue #21): `{{kind}}` is `self` or `manager`, `{{reviews}}` how many wait for the recipient.
  'review.reminder': {
    email: {
      subject: 'Reminder: {{kind}} review due for {{cycle_name}}',
      body: '<p>{{reviews}} {{kind}} review(s) of {{cycle_name}} are due by {{due_at}}.</p>',
    },
    in_app: { title: 'Review due: {{cycle_name}}', body: '{{reviews}} {{kind}} review(s) due by {{due_at}}.' },
  },
  'review.escalated': {
    email: {
      subject: 'Overdue reviews of {{cycle_name}} are now yours',
      body: '<p>{{reviews}} overdue manager review(s) of {{cycle_name}} were escalated to you.</p>',
    },
    in_app: { title: 'Reviews escalated to you', body: '{{reviews}} overdue review(s) of {{cycle_name}}.' },
  },
  'payroll.paid': {
    email: {
      subject: 'Your pay for {{period}}',
      body: '<p>Your net pay of {{amount}} {{currency}} for {{period}} is in your wallet ({{transfer_id}}).</p>',
    },
    in_app: { title: 'Pay for {{period}}', body: 'You were paid {{amount}} {{currency}} for {{period}}.' },
  },
};
