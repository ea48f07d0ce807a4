import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { signBody as signIngestBody } from '../src/webhooks.js';
import { type Actor, createCommunity, createUser } from './fixtures.js';
import { graphql } from './gql/index.js';
import { startTestApp, type TestApp } from './helpers.js';
import { createChannel, createDepartment } from './support-fixtures.js';

const Rotate = graphql(`
  mutation IngestRotate($input: RotateSupportChannelIngestSecretInput!) {
    rotateSupportChannelIngestSecret(input: $input) {
      __typename
      ... on RotateSupportChannelIngestSecretPayload { secret channel { ingestEnabled } }
      ... on Error { message }
    }
  }
`);
const Cases = graphql(`
  query IngestCases($departmentId: ID) {
    supportCases(first: 50, filter: { departmentId: $departmentId }) {
      totalCount
      nodes { id number reference subject channel { name } requester { displayName email } messages(first: 10) { nodes { body } } }
    }
  }
`);

const TOLERANCE = 60;
const REFERENCE = /^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/;
let t: TestApp;
let manager: Actor;
let agent: Actor;
let ingestUrl: string;
// Each test posts to a channel (and department) of its own, made by beforeEach: no test sees the
// cases, messages or secret of another, so any one runs alone.
let departmentId: string;
let channelId: string;
let secret: string;
let channels = 0;

beforeAll(async () => {
  // A window other than the default 300 s, to show the setting is the one applied.
  t = await startTestApp({ SLA_JOB_INTERVAL_MS: '0', MAX_BODY_BYTES: '4096', WEBHOOK_TOLERANCE_SECONDS: String(TOLERANCE) });
  let admin: Actor;
  ({ admin, manager } = await createCommunity(t));
  agent = await createUser(t, 'Ana', 'AGENT', admin);
  ingestUrl = t.url.replace(/\/graphql$/, '/ingest/cases');
});
/** A new department and EMAIL channel, its ingest secret rotated unless `rotate` is false. */
async function freshChannel(rotate = true): Promise<void> {
  channels += 1;
  departmentId = await createDepartment(t, manager, { name: `Email desk ${channels}` }, [{ actor: agent }]);
  channelId = await createChannel(t, manager, { name: `Email ${channels}`, kind: 'EMAIL', defaultDepartmentId: departmentId });
  if (!rotate) return;
  const rotated = (await t.query(Rotate, { input: { channelId } }, manager.token)).rotateSupportChannelIngestSecret;
  if (rotated.__typename !== 'RotateSupportChannelIngestSecretPayload') throw new Error(JSON.stringify(rotated));
  secret = rotated.secret;
}
beforeEach(() => freshChannel());
afterAll(async () => {
  await t?.stop();
});

const nowSeconds = () => Math.floor(Date.now() / 1000);

type PostOptions = {
  key?: string;
  signature?: string | null;
  raw?: string;
  /** The X-Tertulia-Timestamp sent (now by default; null: none). */
  timestamp?: string | null;
  /** The timestamp the signature is computed for, when not the one sent. */
  signedAt?: string;
};

async function post(payload: unknown, options: PostOptions = {}) {
  const body = options.raw ?? JSON.stringify(payload);
  const timestamp = options.timestamp === undefined ? String(nowSeconds()) : options.timestamp;
  const signedAt = options.signedAt ?? timestamp ?? '';
  const signature = options.signature === undefined ? signIngestBody(options.key ?? secret, signedAt, body) : options.signature;
  const response = await fetch(ingestUrl, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(timestamp !== null && { 'x-tertulia-timestamp': timestamp }),
      ...(signature !== null && { 'x-tertulia-signature': signature }),
    },
    body,
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}
const cases = async () => (await t.query(Cases, { departmentId }, manager.token)).supportCases;
const message = (messageId: string, extra: Record<string, unknown> = {}) => ({
  channelId,
  messageId,
  from: { email: 'Carla@Example.com', name: 'Carla' },
  subject: 'Cannot log in',
  body: 'The login page loops.',
  ...extra,
});

describe('POST /ingest/cases', () => {
  it('needs a secret, rotated by managers only and shown once', async () => {
    await freshChannel(false);
    expect((await post(message('m-0'), { signature: 'sha256=00' })).status).toBe(401);
    const denied = await t.query(Rotate, { input: { channelId } }, agent.token);
    expect(denied.rotateSupportChannelIngestSecret.__typename).toBe('ForbiddenError');
    const { rotateSupportChannelIngestSecret } = await t.query(Rotate, { input: { channelId } }, manager.token);
    if (rotateSupportChannelIngestSecret.__typename !== 'RotateSupportChannelIngestSecretPayload') throw new Error('rotation failed');
    expect(rotateSupportChannelIngestSecret.channel).toEqual({ ingestEnabled: true });
    expect(rotateSupportChannelIngestSecret.secret).toMatch(/^[0-9a-f]{64}$/);
  });

  it('rejects a wrong, missing or foreign signature with 401 and writes nothing', async () => {
    const payload = message('m-1');
    expect(await post(payload, { key: 'not the secret' })).toEqual({ status: 401, body: { error: 'Missing or wrong x-tertulia-signature' } });
    expect((await post(payload, { signature: null })).status).toBe(401);
    // One hex digit off (always a different digit, whatever the last one is).
    const timestamp = String(nowSeconds());
    const right = signIngestBody(secret, timestamp, JSON.stringify(payload));
    const offByOne = right.slice(0, -1) + (right.endsWith('0') ? '1' : '0');
    expect((await post(payload, { timestamp, signature: offByOne })).status).toBe(401);
    // Signed right, but the body was changed on the way.
    expect((await post({ ...payload, body: 'Send me your passwords' }, { timestamp, signature: right })).status).toBe(401);
    expect((await post({ ...payload, channelId: 'U3VwcG9ydENoYW5uZWw6OTk5' })).status).toBe(401);
    expect((await post(null, { raw: 'not json' })).status).toBe(401);
    expect((await cases()).totalCount).toBe(0);
  });

  it('opens a case for the sender, creating their account', async () => {
    const opened = await post(message('m-1', { priority: 'HIGH' }));
    expect(opened).toEqual({
      status: 201,
      body: { caseId: expect.any(String), caseNumber: expect.any(Number), caseReference: expect.stringMatching(REFERENCE), caseMessageId: expect.any(String), duplicate: false },
    });
    expect((await cases()).nodes).toEqual([
      {
        id: opened.body.caseId,
        number: opened.body.caseNumber,
        reference: opened.body.caseReference,
        subject: 'Cannot log in',
        channel: { name: `Email ${channels}` },
        requester: { displayName: 'Carla', email: null },
        messages: { nodes: [{ body: 'The login page loops.' }] },
      },
    ]);
  });

  it('answers a replayed message with the same result and no second case, even when deliveries race', async () => {
    const opened = await post(message('m-1', { priority: 'HIGH' }));
    const replay = await post(message('m-1', { priority: 'HIGH' }));
    expect(replay.status).toBe(200);
    expect(replay.body).toMatchObject({ caseId: opened.body.caseId, caseNumber: opened.body.caseNumber, duplicate: true });
    const racing = await Promise.all([1, 2, 3].map(() => post(message('m-2', { subject: 'Second' }))));
    expect(racing.map((r) => r.status).sort()).toEqual([200, 200, 201]);
    expect(new Set(racing.map((r) => r.body.caseId)).size).toBe(1);
    expect((await cases()).nodes.map((c) => c.subject)).toEqual(['Second', 'Cannot log in']);
  });

  it("appends to the sender's own case by number; a stranger's message finds nothing", async () => {
    const caseNumber = (await post(message('m-1'))).body.caseNumber as number;
    const appended = await post(message('m-3', { caseNumber, body: 'Still looping.', subject: undefined }));
    expect(appended).toMatchObject({ status: 201, body: { caseNumber, duplicate: false } });
    const first = (await cases()).nodes.find((c) => c.number === caseNumber)!;
    expect(first.messages.nodes).toEqual([{ body: 'The login page loops.' }, { body: 'Still looping.' }]);
    const stranger = await post({ ...message('m-4', { caseNumber }), from: { email: 'mallory@example.com' } });
    expect(stranger).toEqual({ status: 404, body: { error: `SupportCase #${caseNumber} was not found` } });
  });

  it('validates the message and respects the body size limit', async () => {
    const invalid = await post(message('m-5', { subject: undefined, body: '' }));
    expect(invalid).toEqual({
      status: 400,
      body: { error: 'body.body: must not be empty', fieldErrors: [{ path: ['body', 'body'], message: 'must not be empty' }] },
    });
    const badSender = await post({ ...message('m-5b'), from: { email: 'not an address' } });
    expect(badSender.body).toMatchObject({ fieldErrors: [{ path: ['body', 'from', 'email'], message: 'must be a valid email address' }] });
    const noSubject = await post(message('m-6', { subject: undefined }));
    expect(noSubject.body).toMatchObject({ error: 'body.subject: is required to open a case' });
    expect((await post(message('m-7', { body: 'x'.repeat(5000) }))).status).toBe(413);
    expect((await cases()).totalCount).toBe(0);
  });

  it('answers 401 unsigned and 400 signed for a case number beyond PostgreSQL integers, naming the field', async () => {
    const beyond = message('m-8', { caseNumber: 2147483648, subject: undefined });
    expect((await post(beyond, { key: 'not the secret' })).status).toBe(401);
    const CASE_NUMBER = 'must be a case number: a whole number from 1 to 2147483647';
    expect(await post(beyond)).toEqual({
      status: 400,
      body: { error: `body.caseNumber: ${CASE_NUMBER}`, fieldErrors: [{ path: ['body', 'caseNumber'], message: CASE_NUMBER }] },
    });
    for (const caseNumber of [0, 1.5, '1']) {
      expect((await post(message('m-8', { caseNumber, subject: undefined }))).body).toMatchObject({ fieldErrors: [{ path: ['body', 'caseNumber'], message: CASE_NUMBER }] });
    }
    expect((await cases()).totalCount).toBe(0);
  });

  it('refuses ill-formed Unicode on the field that holds it, so two message ids never become one', async () => {
    const ILL_FORMED = 'must be well-formed Unicode text (it holds a lone UTF-16 surrogate, such as \\ud800)';
    // JSON.stringify writes a lone surrogate as the escape "\ud800", as a sender's JSON would.
    for (const messageId of ['id-\ud800', 'id-\udbff']) {
      expect(await post(message(messageId))).toEqual({
        status: 400,
        body: { error: `body.messageId: ${ILL_FORMED}`, fieldErrors: [{ path: ['body', 'messageId'], message: ILL_FORMED }] },
      });
    }
    expect((await post(message('m-9', { subject: 'Broken \udc00 subject' }))).body).toMatchObject({
      fieldErrors: [{ path: ['body', 'subject'], message: ILL_FORMED }],
    });
    // Bytes that are not UTF-8 at all are not read as U+FFFD: the body is refused (unreadable, so unsigned).
    const raw = Buffer.concat([Buffer.from(JSON.stringify(message('m-10')).slice(0, -1)), Buffer.from(',"x":"\xff"}', 'latin1')]);
    const timestamp = String(nowSeconds());
    const response = await fetch(ingestUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-tertulia-timestamp': timestamp, 'x-tertulia-signature': signIngestBody(secret, timestamp, raw) },
      body: raw,
    });
    expect(response.status).toBe(401);
    expect((await cases()).totalCount).toBe(0);
  });

  it('says what a field of the wrong type should be, in plain words', async () => {
    const wrong = await post({ ...message('m-11'), subject: 42, from: 'carla@example.com', priority: 'SOON' });
    expect(wrong).toEqual({
      status: 400,
      body: {
        error: 'body.from: must be an object; body.subject: must be a string; body.priority: must be one of LOW, NORMAL, HIGH, URGENT',
        fieldErrors: [
          { path: ['body', 'from'], message: 'must be an object' },
          { path: ['body', 'subject'], message: 'must be a string' },
          { path: ['body', 'priority'], message: 'must be one of LOW, NORMAL, HIGH, URGENT' },
        ],
      },
    });
  });

  it(`accepts a delivery signed up to WEBHOOK_TOLERANCE_SECONDS (${TOLERANCE}) behind or ahead of the server's clock`, async () => {
    const caseNumber = (await post(message('m-1'))).body.caseNumber as number;
    const append = (messageId: string, body: string) => message(messageId, { caseNumber, subject: undefined, body });
    const behind = await post(append('m-9', 'Sent from a slow clock.'), { timestamp: String(nowSeconds() - (TOLERANCE - 10)) });
    expect(behind).toMatchObject({ status: 201, body: { caseNumber, duplicate: false } });
    const ahead = await post(append('m-10', 'Sent from a fast clock.'), { timestamp: String(nowSeconds() + (TOLERANCE - 10)) });
    expect(ahead).toMatchObject({ status: 201, body: { caseNumber, duplicate: false } });
    expect((await cases()).nodes.find((c) => c.number === caseNumber)!.messages.nodes).toEqual([
      { body: 'The login page loops.' },
      { body: 'Sent from a slow clock.' },
      { body: 'Sent from a fast clock.' },
    ]);
  });

  it('refuses a timestamp that is missing, malformed, out of the window or not the one signed, writing nothing', async () => {
    const before = await cases();
    const payload = message('m-11', { subject: 'Replayed' });
    const now = nowSeconds();
    const missing = { status: 401, body: { error: 'Missing x-tertulia-timestamp (the Unix time in seconds, signed with the body)' } };
    expect(await post(payload, { timestamp: null, signedAt: String(now) })).toEqual(missing);
    // Each signed as sent, so only its form is at fault.
    const malformed = { status: 401, body: { error: 'x-tertulia-timestamp must be one Unix time in whole seconds' } };
    for (const timestamp of ['yesterday', `${now}.5`, '-60', '1.7e9', `${now}, ${now}`]) {
      expect(await post(payload, { timestamp })).toEqual(malformed);
    }
    // Signed right, but captured and sent again later; or from a clock far ahead; or in milliseconds.
    const outside = {
      status: 401,
      body: { error: `x-tertulia-timestamp is more than ${TOLERANCE} seconds away from the server's clock; sign each delivery when sending it` },
    };
    expect(await post(payload, { timestamp: String(now - 2 * TOLERANCE) })).toEqual(outside);
    expect(await post(payload, { timestamp: String(now + 2 * TOLERANCE) })).toEqual(outside);
    expect(await post(payload, { timestamp: String(Date.now()) })).toEqual(outside);
    // A fresh timestamp on a delivery signed for another one (an old capture dressed as new), and
    // a signature of the body alone (the rule before timestamps).
    const badSignature = { status: 401, body: { error: 'Missing or wrong x-tertulia-signature' } };
    expect(await post(payload, { timestamp: String(now), signedAt: String(now - 2 * TOLERANCE) })).toEqual(badSignature);
    const bodyOnly = `sha256=${createHmac('sha256', secret).update(JSON.stringify(payload)).digest('hex')}`;
    expect(await post(payload, { timestamp: String(now), signature: bodyOnly })).toEqual(badSignature);
    expect(await cases()).toEqual(before);
    // The same message, signed now, goes through: the refusals were for the timestamp alone.
    expect(await post(payload)).toMatchObject({ status: 201, body: { duplicate: false } });
    expect((await cases()).nodes.map((c) => c.subject)).toEqual(['Replayed']);
  });

  it('stops accepting the old secret once rotated', async () => {
    const old = secret;
    await t.query(Rotate, { input: { channelId } }, manager.token);
    expect((await post(message('m-8'), { key: old })).status).toBe(401);
    expect((await cases()).totalCount).toBe(0);
  });

  it("appends to the sender's own case by its public reference too, typed any way; a stranger's finds nothing", async () => {
    const opened = await post(message('m-ref-0', { subject: 'By reference' }));
    const first = (await cases()).nodes.find((c) => c.id === opened.body.caseId)!;
    expect(opened.body.caseReference).toBe(first.reference);
    const typed = first.reference.toLowerCase().replace(/-/g, '');
    const appended = await post(message('m-ref-1', { caseReference: typed, body: 'Now it says 500.', subject: undefined }));
    expect(appended).toMatchObject({ status: 201, body: { caseNumber: first.number, caseReference: first.reference, duplicate: false } });
    expect((await cases()).nodes.find((c) => c.id === first.id)!.messages.nodes).toEqual([{ body: 'The login page loops.' }, { body: 'Now it says 500.' }]);
    const stranger = await post({ ...message('m-ref-2', { caseReference: first.reference }), from: { email: 'mallory@example.com' } });
    expect(stranger).toEqual({ status: 404, body: { error: `SupportCase ${first.reference} was not found` } });
    const both = await post(message('m-ref-3', { caseReference: first.reference, caseNumber: 1 }));
    expect(both).toMatchObject({ status: 400, body: { fieldErrors: [{ path: ['body', 'caseReference'], message: 'give caseNumber or caseReference, not both' }] } });
    const garbled = await post(message('m-ref-4', { caseReference: 'ILOU-0000-0000' }));
    expect(garbled).toMatchObject({ status: 400, body: { fieldErrors: [{ path: ['body', 'caseReference'], message: 'must be a case reference such as "K7QM-2XD9-4RTA"' }] } });
  });
});
