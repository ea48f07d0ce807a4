import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onQuery, prisma } from '../src/db/client.js';
import { decodeId } from '../src/ids.js';
import { signatureHeaders } from '../src/webhooks.js';
import { createUser, type Actor } from './fixtures.js';
import { graphql } from './gql/index.js';
import { startTestApp, type TestApp } from './helpers.js';
import { header, TestMailServer, until } from './mail-server.js';
import { createChannel, createDepartment } from './support-fixtures.js';

// Email out for support: a case that came in by email is answered by email, threaded, with the
// reply or status change that causes it (never an internal note, never a rolled-back reply), and
// the requester's answer to that email comes back into the same case through POST /ingest/cases.

const Rotate = graphql(`
  mutation EmailOutRotate($input: RotateSupportChannelIngestSecretInput!) {
    rotateSupportChannelIngestSecret(input: $input) {
      __typename
      ... on RotateSupportChannelIngestSecretPayload { secret }
      ... on Error { message }
    }
  }
`);
const Reply = graphql(`
  mutation EmailOutReply($input: ReplyToCaseInput!) {
    replyToCase(input: $input) { __typename ... on ReplyToCasePayload { caseMessage { id } } ... on Error { message } }
  }
`);
const SetStatus = graphql(`
  mutation EmailOutSetStatus($input: SetCaseStatusInput!) {
    setCaseStatus(input: $input) { __typename ... on SupportCasePayload { supportCase { status } } ... on Error { message } }
  }
`);
const OutboxPage = graphql(`
  query EmailOutOutboxPage($first: Int!) {
    outboundMessages(first: $first, filter: { kind: CASE_REPLY }) { nodes { subject user { id displayName } supportCase { id reference } } }
  }
`);
const OpenCase = graphql(`
  mutation EmailOutOpenCase($input: OpenCaseInput!) {
    openCase(input: $input) { __typename ... on SupportCasePayload { supportCase { id repliesByEmail } } ... on Error { message } }
  }
`);
const CaseEmails = graphql(`
  query EmailOutCase($id: ID!, $first: Int!) {
    node(id: $id) {
      ... on SupportCase { reference repliesByEmail messages(first: 20) { nodes { body } } }
    }
    outboundMessages(filter: { caseId: $id }, first: $first) {
      nodes { kind status to subject text messageId inReplyTo references supportCase { id } }
    }
  }
`);

let smtp: TestMailServer;
let t: TestApp;
let admin: Actor;
let manager: Actor;
let agent: Actor;
let emailChannel: string;
let formChannel: string;
const secrets = new Map<string, string>();

beforeAll(async () => {
  smtp = await TestMailServer.start();
  // A long interval: emails arrive because their commit woke the mail job.
  t = await startTestApp({ SMTP_URL: smtp.url, MAIL_FROM: 'Help Desk <help@tertulia.test>', MAIL_JOB_INTERVAL_MS: '60000', SLA_JOB_INTERVAL_MS: '0' });
  admin = await createUser(t, 'Admin');
  manager = await createUser(t, 'Manager', 'COMMUNITY_MANAGER', admin);
  agent = await createUser(t, 'Ana Agent', 'AGENT', admin);
  const department = await createDepartment(t, manager, { name: 'Help' }, [{ actor: agent }]);
  emailChannel = await createChannel(t, manager, { name: 'Email', kind: 'EMAIL', defaultDepartmentId: department });
  formChannel = await createChannel(t, manager, { name: 'Web form', kind: 'WEB_FORM', defaultDepartmentId: department });
  for (const channelId of [emailChannel, formChannel]) {
    const { rotateSupportChannelIngestSecret: rotated } = await t.query(Rotate, { input: { channelId } }, manager.token);
    if (rotated.__typename !== 'RotateSupportChannelIngestSecretPayload') throw new Error(JSON.stringify(rotated));
    secrets.set(channelId, rotated.secret);
  }
}, 60_000);
afterAll(async () => {
  await t?.stop();
  await smtp?.close();
});

type Inbound = { messageId: string; from: string; subject?: string; body: string; inReplyTo?: string; references?: string | string[]; caseReference?: string };

/** What an email provider's inbound hook posts, signed with the channel's secret. */
async function ingest(message: Inbound, channelId = emailChannel) {
  const raw = JSON.stringify({ channelId, ...message, from: { email: message.from, name: message.from.split('@')[0] } });
  const response = await fetch(t.url.replace(/\/graphql$/, '/ingest/cases'), {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...signatureHeaders(secrets.get(channelId)!, raw) },
    body: raw,
  });
  const body = (await response.json()) as { caseId: string; caseReference: string };
  if (response.status !== 201) throw new Error(`${response.status} ${JSON.stringify(body)}`);
  return body;
}

const msgId = () => `<${randomBytes(6).toString('hex')}@mail.example.com>`;
const requester = () => `rosa-${randomBytes(4).toString('hex')}@example.com`;
const reply = async (caseId: string, body: string, internal = false, actor = agent) => {
  const { replyToCase } = await t.query(Reply, { input: { caseId, body, internal } }, actor.token);
  expect(replyToCase.__typename).toBe('ReplyToCasePayload');
};
const emailsOf = async (caseId: string) => (await t.query(CaseEmails, { id: caseId, first: 50 }, admin.token)).outboundMessages.nodes;
const caseOf = async (caseId: string) => (await t.query(CaseEmails, { id: caseId, first: 1 }, admin.token)).node as { reference: string; repliesByEmail: boolean; messages: { nodes: { body: string }[] } };
/** Waits for the email with this text in its body, to `to`. */
const arrived = async (to: string, text: string) => {
  await until(() => smtp.received.some((mail) => mail.to && header(mail, 'to') === to && mail.text?.includes(text)), `an email to ${to} saying "${text}"`);
  return smtp.received.filter((mail) => header(mail, 'to') === to && mail.text?.includes(text));
};

describe('a case that came in by email', () => {
  it('gets public replies by email, threaded, and the answer comes back into the same case', async () => {
    const rosa = requester();
    const first = msgId();
    const opened = await ingest({ messageId: first, from: rosa, subject: 'Printer on fire', body: 'It smokes.' });
    expect((await caseOf(opened.caseId)).repliesByEmail).toBe(true);

    await reply(opened.caseId, 'Secret: the printer is from a bad batch', true);
    await reply(opened.caseId, 'Have you tried unplugging it?');
    const [mail] = await arrived(rosa, 'Have you tried unplugging it?');
    expect(mail.from?.text).toBe('"Help Desk" <help@tertulia.test>');
    expect(mail.subject).toBe(`Re: Printer on fire [${opened.caseReference}]`);
    expect(mail.inReplyTo).toBe(first);
    expect(mail.references).toBe(first);
    expect(mail.text).toContain('Ana Agent');
    expect(mail.text).toContain(`Case ${opened.caseReference}`);

    // Rosa answers from her mail program: In-Reply-To and References name our email, no reference field.
    const second = msgId();
    const answered = await ingest({
      messageId: second,
      from: rosa,
      subject: `Re: Printer on fire [${opened.caseReference}]`,
      body: 'Unplugged. Still smoking.',
      inReplyTo: mail.messageId!,
      references: `${first} ${mail.messageId}`,
    });
    expect(answered.caseId).toBe(opened.caseId);
    expect((await caseOf(opened.caseId)).messages.nodes.map((m) => m.body)).toContain('Unplugged. Still smoking.');

    // The next reply answers her latest message, under the whole conversation.
    await reply(opened.caseId, 'Please leave the building.');
    const [next] = await arrived(rosa, 'Please leave the building.');
    expect(next.inReplyTo).toBe(second);
    expect(next.references).toEqual([first, mail.messageId, second]);

    // What went out for the case, as ADMINs see it: the two replies, never the internal note.
    const emails = await emailsOf(opened.caseId);
    expect(emails.map((e) => e.kind)).toEqual(['CASE_REPLY', 'CASE_REPLY']);
    expect(emails.every((e) => e.to === rosa && e.supportCase?.id === opened.caseId)).toBe(true);
    expect(smtp.received.filter((m) => header(m, 'to') === rosa && m.text?.includes('bad batch'))).toHaveLength(0);
  });

  it('tells the requester of PENDING, RESOLVED and CLOSED (not ON_HOLD); an answer to a closed case opens a new one', async () => {
    const rosa = requester();
    const opened = await ingest({ messageId: msgId(), from: rosa, subject: 'Invoice missing', body: 'Where is my invoice?' });
    const set = async (status: 'PENDING' | 'ON_HOLD' | 'RESOLVED' | 'CLOSED') => {
      const { setCaseStatus } = await t.query(SetStatus, { input: { caseId: opened.caseId, status } }, agent.token);
      expect(setCaseStatus).toMatchObject({ supportCase: { status } });
    };
    await set('ON_HOLD');
    await set('PENDING');
    await arrived(rosa, 'We need something from you');
    await set('RESOLVED');
    await arrived(rosa, 'We consider it resolved');
    await set('CLOSED');
    const [closed] = await arrived(rosa, 'It is now closed');
    expect(closed.subject).toBe(`Re: Invoice missing [${opened.caseReference}]`);
    const kinds = (await emailsOf(opened.caseId)).map((e) => e.kind);
    expect(kinds).toEqual(['CASE_STATUS_CHANGED', 'CASE_STATUS_CHANGED', 'CASE_STATUS_CHANGED']);

    const reopened = await ingest({ messageId: msgId(), from: rosa, subject: closed.subject, body: 'Still no invoice.', inReplyTo: closed.messageId! });
    expect(reopened.caseId).not.toBe(opened.caseId);
  });

  it('finds the case by the reference in the subject when the headers are gone, but only for its requester', async () => {
    const rosa = requester();
    const opened = await ingest({ messageId: msgId(), from: rosa, subject: 'Lost parcel', body: 'It never came.' });
    const again = await ingest({ messageId: msgId(), from: rosa, subject: `Fwd: Lost parcel [${opened.caseReference}]`, body: 'Any news?' });
    expect(again.caseId).toBe(opened.caseId);
    // Someone else quoting the reference or our Message-ID opens a case of their own.
    await reply(opened.caseId, 'It is on its way.');
    const [mail] = await arrived(rosa, 'It is on its way.');
    const stranger = await ingest({ messageId: msgId(), from: requester(), subject: mail.subject!, body: 'Me too!', inReplyTo: mail.messageId! });
    expect(stranger.caseId).not.toBe(opened.caseId);
  });

  it('sends nothing when the reply rolls back', async () => {
    const rosa = requester();
    const opened = await ingest({ messageId: msgId(), from: rosa, subject: 'Broken screen', body: 'Cracked.' });
    const caseId = decodeId(opened.caseId, ['SupportCase'], 'id').id;
    // The first reply moves the case from NEW to OPEN after queueing its email: fail that step.
    await prisma().$executeRawUnsafe(`
      CREATE OR REPLACE FUNCTION fail_email_out_test() RETURNS trigger AS $$
      BEGIN RAISE EXCEPTION 'the write failed after the email was queued'; END $$ LANGUAGE plpgsql`);
    await prisma().$executeRawUnsafe(`
      CREATE TRIGGER fail_email_out_test BEFORE INSERT ON "CaseEvent"
      FOR EACH ROW WHEN (NEW."caseId" = ${caseId} AND NEW."kind" = 'STATUS_CHANGED') EXECUTE FUNCTION fail_email_out_test()`);
    try {
      const failed = await t.request(Reply, { input: { caseId: opened.caseId, body: 'This reply never happened.' } }, agent.token);
      expect(failed.errors?.[0].message).toBe('Unexpected error.');
    } finally {
      await prisma().$executeRawUnsafe(`DROP TRIGGER fail_email_out_test ON "CaseEvent"`);
    }
    expect(await emailsOf(opened.caseId)).toEqual([]);
    await reply(opened.caseId, 'This one did.');
    await arrived(rosa, 'This one did.');
    expect(smtp.received.filter((m) => m.text?.includes('This reply never happened.'))).toHaveLength(0);
    expect((await emailsOf(opened.caseId)).map((e) => e.kind)).toEqual(['CASE_REPLY']);
  });
});

describe('cases that did not come in by email', () => {
  it('queue no email: a web form case and a case opened in the app', async () => {
    const viaForm = await ingest({ messageId: msgId(), from: requester(), subject: 'From the form', body: 'Hello.' }, formChannel);
    const member = await createUser(t, 'Mona');
    const { openCase } = await t.query(OpenCase, { input: { channelId: emailChannel, subject: 'In the app', body: 'Hi.' } }, member.token);
    if (openCase.__typename !== 'SupportCasePayload') throw new Error(JSON.stringify(openCase));
    expect(openCase.supportCase?.repliesByEmail).toBe(false);
    for (const caseId of [viaForm.caseId, openCase.supportCase!.id]) {
      await reply(caseId, 'We are on it.');
      const { setCaseStatus } = await t.query(SetStatus, { input: { caseId, status: 'RESOLVED' } }, agent.token);
      expect(setCaseStatus.__typename).toBe('SupportCasePayload');
      // Queued in the reply's own transaction, so none now means none ever.
      expect(await emailsOf(caseId)).toEqual([]);
    }
  });
});

describe('the outbox list', () => {
  it("loads a page's users and cases in batches: as many statements for 8 emails as for 2", async () => {
    // Eight replies to eight cases of eight requesters: a page of 8 has as many users and cases.
    for (let i = 0; i < 8; i++) {
      const opened = await ingest({ messageId: msgId(), from: requester(), subject: `Batch ${i}`, body: 'Hi.' });
      await reply(opened.caseId, `Answer ${i}`);
    }
    // The mail job may run meanwhile, but it never reads users or cases: count the statements that do.
    const count = async (first: number) => {
      const statements: string[] = [];
      const stop = onQuery((sql) => statements.push(sql));
      try {
        const { outboundMessages } = await t.query(OutboxPage, { first }, admin.token);
        expect(outboundMessages.nodes).toHaveLength(first);
        expect(outboundMessages.nodes.every((node) => node.user && node.supportCase)).toBe(true);
      } finally {
        stop();
      }
      return statements.filter((sql) => /"(User|SupportCase)"/.test(sql) && !/"Session"/.test(sql)).length;
    };
    const small = await count(2);
    const large = await count(8);
    expect(large).toBe(small);
    expect(large).toBe(2);
  });
});
