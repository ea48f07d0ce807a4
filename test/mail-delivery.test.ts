import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prisma } from '../src/db/client.js';
import { decodeId, encodeGlobalID } from '../src/ids.js';
import { MailDelivery, retryDelayMs } from '../src/modules/mail/delivery.js';
import { mailSettings, queueEmail, type EmailInput } from '../src/modules/mail/outbox.js';
import { createUser, type Actor } from './fixtures.js';
import { graphql } from './gql/index.js';
import { isolatedDatabase, startTestApp, subscribe, type TestApp } from './helpers.js';
import { header, TestMailServer, until } from './mail-server.js';
import { killServers, ServerProcess } from './processes.js';

// The mail job against a real SMTP server (smtp-server, parsed with mailparser): what arrives,
// when, how often; retries, DEAD, requeueing; exactly once with runners racing; and the embedded
// default without SMTP_URL.

const Outbox = graphql(`
  query MailOutbox($filter: OutboundMessageFilter, $first: Int!) {
    outboundMessages(filter: $filter, first: $first) {
      totalCount
      nodes { id kind status to subject text messageId inReplyTo references attempts nextAttemptAt lastError sentAt user { id } }
    }
  }
`);
const Retry = graphql(`
  mutation MailRetry($input: RetryOutboundMessageInput!) {
    retryOutboundMessage(input: $input) {
      __typename
      ... on RetryOutboundMessagePayload { outboundMessage { id status attempts } }
      ... on Error { message }
    }
  }
`);
const MailNode = graphql(`
  query MailNode($id: ID!) {
    node(id: $id) { __typename ... on OutboundMessage { subject } }
  }
`);

const TEST_TIMEOUT = 60_000;
let smtp: TestMailServer;
let t: TestApp;
let admin: Actor;
let member: Actor;

const unique = (what: string) => `${what} ${randomBytes(4).toString('hex')}`;
const email = (subject: string, extra: Partial<EmailInput> = {}): EmailInput => ({
  kind: 'NOTIFICATION',
  to: 'ana@example.com',
  subject,
  text: `The text of ${subject}`,
  ...extra,
});
/** Queued in a transaction of its own, committed when this resolves. */
const queue = (input: EmailInput) => prisma().$transaction((tx) => queueEmail(tx, input));
const row = (id: number) => prisma().outboundMessage.findUniqueOrThrow({ where: { id } });
const appEnv = () => ({
  SMTP_URL: smtp.url,
  MAIL_FROM: 'Tertulia Support <support@tertulia.test>',
  MAIL_JOB_INTERVAL_MS: '60000',
  MAIL_MAX_ATTEMPTS: '3',
  MAIL_RETRY_BASE_MS: '100',
  SLA_JOB_INTERVAL_MS: '0',
});

/** This process holds one database client, the app's: a test that needs other settings replaces the app. */
async function replaceApp(env: Record<string, string>): Promise<TestApp> {
  await t.stop();
  t = await startTestApp({ SLA_JOB_INTERVAL_MS: '0', ...env });
  return t;
}
const untilStatus = (id: number, status: string, timeoutMs = 20_000) =>
  until(async () => (await row(id)).status === status, `email ${id} to be ${status}`, timeoutMs);

beforeAll(async () => {
  smtp = await TestMailServer.start();
  // A long interval: what arrives quickly was woken by its commit, not found by polling.
  t = await startTestApp(appEnv());
  admin = await createUser(t, 'Admin');
  member = await createUser(t, 'Member');
}, TEST_TIMEOUT);
afterAll(async () => {
  killServers();
  await t?.stop();
  await smtp?.close();
});

describe('delivery over SMTP', () => {
  it('sends a committed email at once with the headers stored, and marks it SENT', async () => {
    const subject = unique('Welcome');
    const queued = await queue(
      email(subject, {
        inReplyTo: '<first@elsewhere.test>',
        references: ['<root@elsewhere.test>', '<first@elsewhere.test>'],
        headers: { 'List-Unsubscribe': '<https://tertulia.test/unsubscribe/abc>' },
      }),
    );
    // Well under the 60 s interval: the commit woke the job.
    const [mail] = await smtp.waitFor(subject, 1, 10_000);
    expect(mail.from?.text).toBe('"Tertulia Support" <support@tertulia.test>');
    expect(header(mail, 'to')).toBe('ana@example.com');
    expect(mail.messageId).toBe(queued.messageId);
    expect(queued.messageId).toMatch(/^<[0-9a-f-]{36}@tertulia\.test>$/);
    expect(mail.inReplyTo).toBe('<first@elsewhere.test>');
    expect(mail.references).toEqual(['<root@elsewhere.test>', '<first@elsewhere.test>']);
    expect(header(mail, 'list-unsubscribe')).toContain('https://tertulia.test/unsubscribe/abc');
    expect(mail.text?.trim()).toBe(`The text of ${subject}`);
    await untilStatus(queued.id, 'SENT');
    const sent = await row(queued.id);
    expect(sent).toMatchObject({ attempts: 1, lastError: null });
    expect(sent.sentAt).toBeInstanceOf(Date);
    expect(smtp.withSubject(subject)).toHaveLength(1);
  });

  it('sends nothing for a rolled-back write', async () => {
    const rolledBack = unique('Rolled back');
    let queuedId = 0;
    await expect(
      prisma().$transaction(async (tx) => {
        queuedId = (await queueEmail(tx, email(rolledBack))).id;
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    // Emails queued after it arrive; the rolled-back one never does, and its row never existed.
    const after = unique('After the rollback');
    await queue(email(after));
    await smtp.waitFor(after);
    expect(smtp.withSubject(rolledBack)).toHaveLength(0);
    expect(await prisma().outboundMessage.findUnique({ where: { id: queuedId } })).toBeNull();
  });

  it('retries with growing delays while the server says "try later", then delivers', async () => {
    const subject = unique('Flaky');
    let refusals = 0;
    smtp.refuseData = (mail) => (mail.subject === subject && refusals++ < 2 ? { code: 451, message: 'Try again later' } : undefined);
    const queued = await queue(email(subject));
    await smtp.waitFor(subject);
    const attempts = smtp.attempts.filter((a) => a.subject === subject);
    expect(attempts.map((a) => a.refused?.code ?? 250)).toEqual([451, 451, 250]);
    // Base 100 ms, doubling, equal jitter: at least 50 ms, then at least 100 ms.
    expect(attempts[1].at - attempts[0].at).toBeGreaterThanOrEqual(45);
    expect(attempts[2].at - attempts[1].at).toBeGreaterThanOrEqual(95);
    await untilStatus(queued.id, 'SENT');
    expect(await row(queued.id)).toMatchObject({ attempts: 3, lastError: null });
  });

  it('gives up after MAIL_MAX_ATTEMPTS (DEAD, lastError kept); an ADMIN requeues it and it goes out', async () => {
    const subject = unique('Never accepted');
    let accept = false;
    smtp.refuseData = (mail) => (mail.subject === subject && !accept ? { code: 452, message: 'Mailbox full' } : undefined);
    const queued = await queue(email(subject));
    await untilStatus(queued.id, 'DEAD');
    expect(smtp.attempts.filter((a) => a.subject === subject)).toHaveLength(3);
    const id = encodeGlobalID('OutboundMessage', queued.id);
    const { outboundMessages } = await t.query(Outbox, { filter: { status: 'DEAD' }, first: 50 }, admin.token);
    const dead = outboundMessages.nodes.find((node) => node.id === id)!;
    expect(dead).toMatchObject({ status: 'DEAD', attempts: 3, nextAttemptAt: null, subject, to: 'ana@example.com' });
    expect(dead.lastError).toContain('452 Mailbox full');

    // Requeueing is for ADMINs, and for DEAD or LOGGED emails only.
    expect((await t.query(Retry, { input: { id } }, member.token)).retryOutboundMessage.__typename).toBe('ForbiddenError');
    expect((await t.query(Retry, { input: { id } })).retryOutboundMessage.__typename).toBe('UnauthenticatedError');
    accept = true;
    const { retryOutboundMessage } = await t.query(Retry, { input: { id } }, admin.token);
    expect(retryOutboundMessage).toMatchObject({ __typename: 'RetryOutboundMessagePayload', outboundMessage: { status: 'PENDING', attempts: 0 } });
    await smtp.waitFor(subject, 1, 10_000);
    await untilStatus(queued.id, 'SENT');
    const again = await t.query(Retry, { input: { id } }, admin.token);
    expect(again.retryOutboundMessage).toMatchObject({ __typename: 'ConflictError', message: 'This email is SENT: only DEAD or LOGGED emails can be requeued' });
    const missing = await t.query(Retry, { input: { id: encodeGlobalID('OutboundMessage', 2_000_000_000) } }, admin.token);
    expect(missing.retryOutboundMessage.__typename).toBe('NotFoundError');
  });

  it('a recipient refused for good (5xx) is DEAD at the first attempt', async () => {
    smtp.refuseRecipient = (address) => (address === 'gone@example.com' ? { code: 550, message: 'No such user' } : undefined);
    const queued = await queue(email(unique('To nobody'), { to: 'gone@example.com' }));
    await untilStatus(queued.id, 'DEAD');
    const dead = await row(queued.id);
    expect(dead.attempts).toBe(1);
    expect(dead.lastError).toContain('550 No such user');
  });

  it('links in emails use PUBLIC_URL, or else the address and port actually listened on (PORT=0 here)', () => {
    expect(mailSettings()).toEqual({ from: 'Tertulia Support <support@tertulia.test>', publicUrl: new URL(t.url).origin });
    expect(new URL(t.url).port).not.toBe('0');
  });

  it('back-off doubles from MAIL_RETRY_BASE_MS, up to an hour, with jitter in its upper half', () => {
    expect([1, 2, 3].map((n) => retryDelayMs(n, 1000, () => 0))).toEqual([500, 1000, 2000]);
    expect([1, 2, 3].map((n) => retryDelayMs(n, 1000, () => 1))).toEqual([1000, 2000, 4000]);
    expect(retryDelayMs(40, 30_000, () => 1)).toBe(3600_000);
  });
});

describe('the outbox for ADMINs', () => {
  it('lists, filters and loads outbound emails for ADMINs only, on every path', async () => {
    const subject = unique('For the list');
    const userId = decodeId(member.id, ['User'], 'id').id;
    const queued = await queue(email(subject, { userId }));
    await untilStatus(queued.id, 'SENT');
    const reset = await queue(email(unique('Reset'), { kind: 'PASSWORD_RESET', text: 'https://tertulia.test/reset?token=secret' }));
    await untilStatus(reset.id, 'SENT');

    const { outboundMessages } = await t.query(Outbox, { filter: { kind: 'NOTIFICATION', status: 'SENT' }, first: 100 }, admin.token);
    const listed = outboundMessages.nodes.find((node) => node.subject === subject)!;
    expect(listed).toMatchObject({ kind: 'NOTIFICATION', status: 'SENT', text: `The text of ${subject}`, user: { id: member.id }, nextAttemptAt: null });
    expect(outboundMessages.nodes.every((node) => node.kind === 'NOTIFICATION' && node.status === 'SENT')).toBe(true);
    // A one-time link is not shown even to ADMINs.
    const resets = await t.query(Outbox, { filter: { kind: 'PASSWORD_RESET' }, first: 10 }, admin.token);
    expect(resets.outboundMessages.nodes[0]).toMatchObject({ kind: 'PASSWORD_RESET', text: null });

    for (const viewer of [member.token, null]) {
      const denied = await t.request(Outbox, { first: 10 }, viewer);
      expect(denied.data).toBeNull();
      expect(denied.errors?.[0].message).toBe(viewer ? 'Your role does not allow this' : 'Sign in to do this');
      expect((await t.query(MailNode, { id: listed.id }, viewer)).node).toBeNull();
    }
    expect((await t.query(MailNode, { id: listed.id }, admin.token)).node).toEqual({ __typename: 'OutboundMessage', subject });
    // Over graphql-ws, the same rule.
    const overWs = subscribe(t.wsClient(member.token), Outbox, { first: 10 });
    const [answer] = await overWs.next(1);
    expect(answer.data).toBeNull();
    expect(answer.errors?.[0].message).toBe('Your role does not allow this');
  });
});

describe('exactly once', () => {
  it('four runners racing over the same due emails send each one once', async () => {
    const subjects = Array.from({ length: 24 }, (_, i) => unique(`Race ${i}`));
    smtp.answerDelayMs = 10;
    const logger = pino({ level: 'silent' });
    const runners = Array.from({ length: 4 }, () => new MailDelivery({ smtpUrl: smtp.url, maxAttempts: 3, retryBaseMs: 100 }, logger));
    try {
      // Queued in one transaction, so all are due at once for every runner (and the app's own job).
      const ids = await prisma().$transaction(async (tx) => {
        const queued = [];
        for (const subject of subjects) queued.push((await queueEmail(tx, email(subject))).id);
        return queued;
      });
      await Promise.all(runners.map((runner) => runner.runPass()));
      await until(async () => (await prisma().outboundMessage.count({ where: { id: { in: ids }, status: 'SENT' } })) === ids.length, 'all sent');
      for (const subject of subjects) expect(smtp.withSubject(subject)).toHaveLength(1);
      const attempts = await prisma().outboundMessage.findMany({ where: { id: { in: ids } }, select: { attempts: true } });
      expect(attempts.every((a) => a.attempts === 1)).toBe(true);
    } finally {
      smtp.answerDelayMs = 0;
      for (const runner of runners) runner.stop();
    }
  }, TEST_TIMEOUT);

  it.skipIf(!process.env.DATABASE_URL)('two app instances sharing the outbox on PostgreSQL send each email once', async () => {
    const database = (await isolatedDatabase('tertulia_mail'))!;
    const shared = { DATABASE_URL: database.url, SMTP_URL: smtp.url, MAIL_JOB_INTERVAL_MS: '20' };
    await replaceApp(shared);
    const b = new ServerProcess({ HOST: '127.0.0.1', ...shared });
    try {
      await b.listening();
      const subjects = Array.from({ length: 30 }, (_, i) => unique(`Shared ${i}`));
      smtp.answerDelayMs = 5;
      for (const subject of subjects) await queue(email(subject));
      for (const subject of subjects) await smtp.waitFor(subject, 1, 30_000);
      await until(async () => (await prisma().outboundMessage.count({ where: { status: 'SENT' } })) === subjects.length, 'all SENT');
      for (const subject of subjects) expect(smtp.withSubject(subject)).toHaveLength(1);
    } finally {
      smtp.answerDelayMs = 0;
      await b.stop();
      await t.stop();
      await database.drop();
      // The tests after this one use this file's own app again.
      t = await startTestApp(appEnv());
    }
  }, 120_000);
});

describe('without SMTP_URL', () => {
  it('logs each email once at info level (to, subject, text) and marks it LOGGED', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    const logging = new MailDelivery({ smtpUrl: undefined, maxAttempts: 3, retryBaseMs: 100 }, pino({ level: 'info' }, sink));
    expect(logging.health()).toBe('logging');
    // Written around queueEmail, so the app's own job (SMTP, a 60 s interval) is not woken for it.
    const subject = unique('Logged');
    const queued = await prisma().outboundMessage.create({
      data: { kind: 'NOTIFICATION', toAddress: 'ana@example.com', subject, text: `The text of ${subject}`, messageId: `<${randomBytes(8).toString('hex')}@tertulia.test>` },
    });
    try {
      await logging.runPass();
      await logging.runPass();
    } finally {
      logging.stop();
    }
    const logged = lines.filter((line) => line.outboundMessageId === queued.id);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ level: 30, to: 'ana@example.com', subject, text: `The text of ${subject}`, kind: 'NOTIFICATION' });
    expect((await row(queued.id)).status).toBe('LOGGED');
  });

  it('an app without SMTP_URL marks what it queues LOGGED at once, and /readyz stays ready saying so', async () => {
    const plain = await replaceApp({ MAIL_JOB_INTERVAL_MS: '60000' });
    const queued = await queue(email(unique('Without SMTP')));
    await untilStatus(queued.id, 'LOGGED', 10_000);
    const ready = await fetch(plain.url.replace(/\/graphql$/, '/readyz'));
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', mail: 'logging' });
  }, TEST_TIMEOUT);
});

describe('readiness', () => {
  it('/readyz stays ready when the SMTP server is down, and says mail is failing', async () => {
    const down = await TestMailServer.start();
    const url = down.url;
    await down.close();
    const app = await replaceApp({ SMTP_URL: url, MAIL_JOB_INTERVAL_MS: '60000', MAIL_RETRY_BASE_MS: '60000' });
    const queued = await queue(email(unique('Nobody listening')));
    await until(async () => (await row(queued.id)).lastError !== null, 'a failed attempt');
    expect(await row(queued.id)).toMatchObject({ status: 'PENDING', attempts: 1 });
    const ready = await fetch(app.url.replace(/\/graphql$/, '/readyz'));
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', mail: 'failing' });
  }, TEST_TIMEOUT);
});
