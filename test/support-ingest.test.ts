import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
  query IngestCases {
    supportCases(first: 50) {
      totalCount
      nodes { id number subject channel { name } requester { displayName email } messages(first: 10) { nodes { body } } }
    }
  }
`);

let t: TestApp;
let manager: Actor;
let agent: Actor;
let channelId: string;
let secret: string;
let ingestUrl: string;

beforeAll(async () => {
  t = await startTestApp({ SLA_JOB_INTERVAL_MS: '0', MAX_BODY_BYTES: '4096' });
  let admin: Actor;
  ({ admin, manager } = await createCommunity(t));
  agent = await createUser(t, 'Ana', 'AGENT', admin);
  const department = await createDepartment(t, manager, { name: 'Email desk' }, [{ actor: agent }]);
  channelId = await createChannel(t, manager, { name: 'Email', kind: 'EMAIL', defaultDepartmentId: department });
  ingestUrl = t.url.replace(/\/graphql$/, '/ingest/cases');
});
afterAll(async () => {
  await t?.stop();
});

async function post(payload: unknown, options: { key?: string; signature?: string | null; raw?: string } = {}) {
  const body = options.raw ?? JSON.stringify(payload);
  const signature = options.signature === undefined ? signIngestBody(options.key ?? secret, body) : options.signature;
  const response = await fetch(ingestUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(signature !== null && { 'x-tertulia-signature': signature }) },
    body,
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}
const cases = async () => (await t.query(Cases, {}, manager.token)).supportCases;
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
    expect((await post(message('m-0'), { signature: 'sha256=00' })).status).toBe(401);
    const denied = await t.query(Rotate, { input: { channelId } }, agent.token);
    expect(denied.rotateSupportChannelIngestSecret.__typename).toBe('ForbiddenError');
    const { rotateSupportChannelIngestSecret } = await t.query(Rotate, { input: { channelId } }, manager.token);
    if (rotateSupportChannelIngestSecret.__typename !== 'RotateSupportChannelIngestSecretPayload') throw new Error('rotation failed');
    expect(rotateSupportChannelIngestSecret.channel).toEqual({ ingestEnabled: true });
    expect(rotateSupportChannelIngestSecret.secret).toMatch(/^[0-9a-f]{64}$/);
    secret = rotateSupportChannelIngestSecret.secret;
  });

  it('rejects a wrong, missing or foreign signature with 401 and writes nothing', async () => {
    const payload = message('m-1');
    expect(await post(payload, { key: 'not the secret' })).toEqual({ status: 401, body: { error: 'Missing or wrong x-tertulia-signature' } });
    expect((await post(payload, { signature: null })).status).toBe(401);
    // One hex digit off (always a different digit, whatever the last one is).
    const right = signIngestBody(secret, JSON.stringify(payload));
    const offByOne = right.slice(0, -1) + (right.endsWith('0') ? '1' : '0');
    expect((await post(payload, { signature: offByOne })).status).toBe(401);
    // Signed right, but the body was changed on the way.
    const signed = signIngestBody(secret, JSON.stringify(payload));
    expect((await post({ ...payload, body: 'Send me your passwords' }, { signature: signed })).status).toBe(401);
    expect((await post({ ...payload, channelId: 'U3VwcG9ydENoYW5uZWw6OTk5' })).status).toBe(401);
    expect((await post(null, { raw: 'not json' })).status).toBe(401);
    expect((await cases()).totalCount).toBe(0);
  });

  it('opens a case for the sender, creating their account', async () => {
    const opened = await post(message('m-1', { priority: 'HIGH' }));
    expect(opened).toEqual({
      status: 201,
      body: { caseId: expect.any(String), caseNumber: 1, caseMessageId: expect.any(String), duplicate: false },
    });
    expect((await cases()).nodes).toEqual([
      {
        id: opened.body.caseId,
        number: 1,
        subject: 'Cannot log in',
        channel: { name: 'Email' },
        requester: { displayName: 'Carla', email: null },
        messages: { nodes: [{ body: 'The login page loops.' }] },
      },
    ]);
  });

  it('answers a replayed message with the same result and no second case, even when deliveries race', async () => {
    const replay = await post(message('m-1', { priority: 'HIGH' }));
    expect(replay.status).toBe(200);
    expect(replay.body).toMatchObject({ caseNumber: 1, duplicate: true });
    const racing = await Promise.all([1, 2, 3].map(() => post(message('m-2', { subject: 'Second' }))));
    expect(racing.map((r) => r.status).sort()).toEqual([200, 200, 201]);
    expect(new Set(racing.map((r) => r.body.caseId)).size).toBe(1);
    expect((await cases()).nodes.map((c) => c.subject)).toEqual(['Second', 'Cannot log in']);
  });

  it("appends to the sender's own case by number; a stranger's message finds nothing", async () => {
    const appended = await post(message('m-3', { caseNumber: 1, body: 'Still looping.', subject: undefined }));
    expect(appended).toMatchObject({ status: 201, body: { caseNumber: 1, duplicate: false } });
    const first = (await cases()).nodes.find((c) => c.number === 1)!;
    expect(first.messages.nodes).toEqual([{ body: 'The login page loops.' }, { body: 'Still looping.' }]);
    const stranger = await post({ ...message('m-4', { caseNumber: 1 }), from: { email: 'mallory@example.com' } });
    expect(stranger).toEqual({ status: 404, body: { error: 'SupportCase #1 was not found' } });
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
    expect((await cases()).totalCount).toBe(2);
  });

  it('stops accepting the old secret once rotated', async () => {
    const old = secret;
    await t.query(Rotate, { input: { channelId } }, manager.token);
    expect((await post(message('m-8'), { key: old })).status).toBe(401);
    expect((await cases()).totalCount).toBe(2);
  });
});
