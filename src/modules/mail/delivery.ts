import { createTransport, type NodemailerError } from 'nodemailer';
import { prisma } from '../../db/client.js';
import type { OutboundMessage } from '../../generated/prisma/client.js';
import type { Logger } from '../../logger.js';
import { mailSettings, onEmailQueued } from './outbox.js';

// Delivery of the outbox (the mail job, src/jobs/mail-job.ts). Each pass claims due PENDING rows
// in one statement (FOR UPDATE SKIP LOCKED, and a lease: nextAttemptAt pushed past the time a
// send can take, committed with the claim), so instances running passes at once never take the
// same row; sends them outside any transaction; then marks each SENT, or schedules its retry
// (exponential back-off with jitter), or gives up (DEAD). A row whose instance died mid-send is
// claimed again when its lease runs out: at-least-once, as SMTP itself is.
//
// Without SMTP_URL each due row is written to the log instead (to, subject, text, at info level)
// and marked LOGGED in the same statement that claims it, so it is logged once and never sent
// later by surprise when SMTP is configured (an admin can requeue it: retryOutboundMessage).

export type DeliveryOptions = {
  /** smtp:// or smtps://; undefined: log instead of sending. */
  smtpUrl: string | undefined;
  maxAttempts: number;
  retryBaseMs: number;
};

export type PassResult = { sent: number; retrying: number; dead: number; logged: number; nextDueAt: Date | null; waitingForCommit: number };

/** What /readyz says of mail: it never makes the instance unready, since mail is retried. */
export type MailHealth = 'ok' | 'failing' | 'logging';

const BATCH = 20;
const BATCHES_PER_PASS = 10;
const SEND_CONCURRENCY = 4;
/** Longer than a send can take with the timeouts below, so a live sender never loses its row. */
const LEASE_MS = 5 * 60_000;
const MAX_BACKOFF_MS = 3600_000;
/** A queued row still unseen after this long belonged to a transaction that rolled back. */
const COMMIT_WAIT_MS = 20_000;
const SMTP_TIMEOUTS = { connectionTimeout: 15_000, greetingTimeout: 15_000, socketTimeout: 60_000 };

/** The retry delay after `attempts` failed attempts: doubling from `baseMs`, capped, with equal jitter. */
export function retryDelayMs(attempts: number, baseMs: number, random: () => number = Math.random): number {
  const full = Math.min(baseMs * 2 ** Math.min(attempts - 1, 30), MAX_BACKOFF_MS);
  return Math.round(full / 2 + (random() * full) / 2);
}

export class MailDelivery {
  private readonly transport;
  /** Rows queued in this process whose transaction has not been seen to commit yet: id -> when. */
  private readonly waiting = new Map<number, number>();
  private commitPolls = 0;
  private failingSince: Date | null = null;
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly options: DeliveryOptions,
    private readonly logger: Logger,
  ) {
    this.transport = options.smtpUrl ? createTransport({ url: options.smtpUrl, ...SMTP_TIMEOUTS }) : undefined;
  }

  /** Listens for emails queued in this process and calls `wake` for each, so they go out at once. */
  start(wake: () => void): void {
    this.unsubscribe = onEmailQueued((id) => {
      this.waiting.set(id, Date.now());
      this.commitPolls = 0;
      wake();
    });
  }

  stop(): void {
    this.unsubscribe?.();
    this.transport?.close();
  }

  health(): MailHealth {
    if (!this.transport) return 'logging';
    return this.failingSince ? 'failing' : 'ok';
  }

  /**
   * When the next pass should run: soon while rows queued here wait for their transaction to
   * commit (a row is visible only then), else when the next retry or lease comes due.
   */
  nextPassInMs(result: PassResult, now = Date.now()): number {
    if (result.waitingForCommit > 0) return Math.min(25 * 2 ** this.commitPolls++, 500);
    return result.nextDueAt ? Math.max(0, result.nextDueAt.getTime() - now) : Number.POSITIVE_INFINITY;
  }

  /** One pass: everything due now, a batch at a time (bounded, so a backlog does not hold the job). */
  async runPass(): Promise<PassResult> {
    await this.forgetCommitted();
    const result: PassResult = { sent: 0, retrying: 0, dead: 0, logged: 0, nextDueAt: null, waitingForCommit: 0 };
    for (let batch = 0; batch < BATCHES_PER_PASS; batch++) {
      const count = this.transport ? await this.sendBatch(result) : await this.logBatch(result);
      if (count < BATCH) break;
    }
    const [due] = await prisma().$queryRaw<{ at: Date | null }[]>`
      SELECT min("nextAttemptAt") AS "at" FROM "OutboundMessage" WHERE "status" = 'PENDING'`;
    result.nextDueAt = due?.at ?? null;
    result.waitingForCommit = this.waiting.size;
    return result;
  }

  /** Rows queued here that now exist have committed: this pass's claim sees them. */
  private async forgetCommitted(): Promise<void> {
    if (this.waiting.size === 0) return;
    const ids = [...this.waiting.keys()];
    const rows = await prisma().outboundMessage.findMany({ where: { id: { in: ids } }, select: { id: true } });
    for (const row of rows) this.waiting.delete(row.id);
    const expired = Date.now() - COMMIT_WAIT_MS;
    for (const [id, queuedAt] of this.waiting) if (queuedAt < expired) this.waiting.delete(id);
  }

  private async sendBatch(result: PassResult): Promise<number> {
    const now = new Date();
    const claimed = await prisma().$queryRaw<OutboundMessage[]>`
      UPDATE "OutboundMessage" SET "attempts" = "attempts" + 1, "nextAttemptAt" = ${new Date(now.getTime() + LEASE_MS)}
      WHERE "id" IN (
        SELECT "id" FROM "OutboundMessage"
        WHERE "status" = 'PENDING' AND "nextAttemptAt" <= ${now}
        ORDER BY "nextAttemptAt", "id" LIMIT ${BATCH}
        FOR UPDATE SKIP LOCKED
      )
      RETURNING *`;
    for (let i = 0; i < claimed.length; i += SEND_CONCURRENCY) {
      await Promise.all(claimed.slice(i, i + SEND_CONCURRENCY).map((row) => this.send(row, result)));
    }
    return claimed.length;
  }

  private async send(row: OutboundMessage, result: PassResult): Promise<void> {
    try {
      await this.transport!.sendMail({
        from: mailSettings().from,
        to: row.toAddress,
        subject: row.subject,
        text: row.text,
        ...(row.html !== null && { html: row.html }),
        messageId: row.messageId,
        ...(row.inReplyTo && { inReplyTo: row.inReplyTo }),
        ...(row.references.length > 0 && { references: row.references }),
        ...(row.headers && { headers: row.headers as Record<string, string> }),
      });
    } catch (caught) {
      const error = caught as NodemailerError;
      const lastError = describe(error);
      // Refused for good (a 5xx to this recipient or this message): retrying gets the same answer.
      const refused = error.permanent === true && (error.command === 'RCPT TO' || error.command === 'DATA');
      const dead = refused || row.attempts >= this.options.maxAttempts;
      await prisma().outboundMessage.updateMany({
        where: { id: row.id, status: 'PENDING' },
        data: dead
          ? { status: 'DEAD', lastError }
          : { lastError, nextAttemptAt: new Date(Date.now() + retryDelayMs(row.attempts, this.options.retryBaseMs)) },
      });
      if (dead) result.dead++;
      else result.retrying++;
      if (error.responseCode === undefined) this.serverFailing(lastError);
      else this.serverAnswering();
      this.logger.warn({ outboundMessageId: row.id, attempts: row.attempts, dead, error: lastError }, 'email not delivered');
      return;
    }
    this.serverAnswering();
    // Sent: only the lease holder gets here (a second sender would need the lease to run out).
    await prisma().outboundMessage.updateMany({ where: { id: row.id, status: 'PENDING' }, data: { status: 'SENT', sentAt: new Date(), lastError: null } });
    result.sent++;
  }

  private async logBatch(result: PassResult): Promise<number> {
    const logged = await prisma().$queryRaw<Pick<OutboundMessage, 'id' | 'kind' | 'toAddress' | 'subject' | 'text'>[]>`
      UPDATE "OutboundMessage" SET "status" = 'LOGGED'
      WHERE "id" IN (
        SELECT "id" FROM "OutboundMessage"
        WHERE "status" = 'PENDING' AND "nextAttemptAt" <= ${new Date()}
        ORDER BY "nextAttemptAt", "id" LIMIT ${BATCH}
        FOR UPDATE SKIP LOCKED
      )
      RETURNING "id", "kind", "toAddress", "subject", "text"`;
    for (const row of logged.sort((a, b) => a.id - b.id)) {
      this.logger.info(
        { outboundMessageId: row.id, kind: row.kind, to: row.toAddress, subject: row.subject, text: row.text },
        'email not sent (no SMTP_URL): this is what it says',
      );
    }
    result.logged += logged.length;
    return logged.length;
  }

  // Told once per change, not per message: the messages themselves wait and are retried.
  private serverFailing(error: string): void {
    if (this.failingSince) return;
    this.failingSince = new Date();
    this.logger.warn({ error }, 'mail: the SMTP server is not answering; emails stay queued and are retried');
  }

  private serverAnswering(): void {
    if (!this.failingSince) return;
    this.logger.info({ failingSince: this.failingSince.toISOString() }, 'mail: the SMTP server is answering again');
    this.failingSince = null;
  }
}

/** The server's answer when there is one, else the error: what an admin reads as lastError. */
function describe(error: NodemailerError): string {
  const text = error.response ? `${error.message}: ${error.response}` : `${error.code ? `${error.code}: ` : ''}${error.message}`;
  return text.slice(0, 1000);
}
