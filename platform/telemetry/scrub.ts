import type { Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { scrubText } from '../log.js';

/**
 * What the logs never hold, spans do not either (traces leave our stores for a collector): every
 * span's string attributes, its status message and its events' attributes (a recorded exception's
 * message and stack: an activity's failure, a database error quoting a value) go through
 * platform/log.ts `scrubText` (API keys, webhook secrets, JWTs, bearer tokens, e-mail addresses,
 * card numbers) before `next` sees them. The workflow spans from the sink come through here too.
 */
export class ScrubbingSpanProcessor implements SpanProcessor {
  constructor(private readonly next: SpanProcessor) {}

  onStart(span: Span, parentContext: Context): void {
    this.next.onStart(span, parentContext);
  }

  onEnd(span: ReadableSpan): void {
    scrubAttributes(span.attributes as Record<string, unknown>);
    const status = span.status as { message?: string };
    if (status.message) status.message = scrubText(status.message);
    for (const event of span.events) if (event.attributes) scrubAttributes(event.attributes as Record<string, unknown>);
    this.next.onEnd(span);
  }

  forceFlush(): Promise<void> {
    return this.next.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.next.shutdown();
  }
}

function scrubAttributes(attributes: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(attributes)) {
    if (typeof value === 'string') attributes[key] = scrubText(value);
    else if (Array.isArray(value)) attributes[key] = value.map((item: unknown) => (typeof item === 'string' ? scrubText(item) : item));
  }
}
