import type { MailDelivery, PassResult } from '../modules/mail/delivery.js';
import type { Job } from './schedule.js';

// The mail job (scheduled by app.ts every MAIL_JOB_INTERVAL_MS, and woken at once when this
// instance queues an email): delivers the outbox's due messages. Instances may run it at the same
// time; delivery.ts says why each message is claimed by one of them.

export const MAIL_JOB = 'mail';

export function mailJob(delivery: MailDelivery, everyMs: number): Job<PassResult> {
  return {
    name: MAIL_JOB,
    everyMs,
    run: () => delivery.runPass(),
    // Sooner than the interval when a retry comes due, or while a queued email's transaction is still open.
    nextInMs: (result) => delivery.nextPassInMs(result),
  };
}
