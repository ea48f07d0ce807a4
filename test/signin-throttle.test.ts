import { randomBytes } from 'node:crypto';
import net from 'node:net';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print, type FormattedExecutionResult } from 'graphql';
import { createClient } from 'graphql-ws';
import { Agent, fetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { graphql } from './gql/index.js';
import { isolatedDatabase, sleep, startTestApp, uniqueEmail, type TestApp } from './helpers.js';
import { latestEmail, linkToken, mailbox } from './mailbox.js';
import { killServers, ServerProcess } from './processes.js';

// The sign-in throttle through the API: failures per account and per client address, sign-ups
// per address, one signIn/signUp per operation; on Redis, shared by two instances, and kept (in
// each instance's memory) while Redis is away. Each test speaks from a loopback address of its
// own (127.0.0.x), so the per-address budgets of one test do not touch another's.

const LOCKOUT_SECONDS = 4;
const PER_ACCOUNT = 3;
const PER_ADDRESS = 8;
const SIGNUPS_PER_ADDRESS = 3;
const PASSWORD = 'staple horse battery correct';
const SETTINGS = {
  SIGNIN_MAX_FAILURES_PER_ACCOUNT: String(PER_ACCOUNT),
  SIGNIN_MAX_FAILURES_PER_ADDRESS: String(PER_ADDRESS),
  SIGNUP_MAX_PER_ADDRESS: String(SIGNUPS_PER_ADDRESS),
  SIGNIN_LOCKOUT_SECONDS: String(LOCKOUT_SECONDS),
};

const ThrottleSignIn = graphql(`
  mutation ThrottleSignIn($input: SignInInput!) {
    signIn(input: $input) {
      __typename
      ... on AuthPayload { token }
      ... on RateLimitedError { message retryAfterSeconds }
      ... on Error { message }
    }
  }
`);
const ThrottleSignUp = graphql(`
  mutation ThrottleSignUp($input: SignUpInput!) {
    signUp(input: $input) {
      __typename
      ... on AccountEmailPayload { email }
      ... on RateLimitedError { message retryAfterSeconds }
      ... on Error { message }
    }
  }
`);
const ThrottleVerifyEmail = graphql(`
  mutation ThrottleVerifyEmail($input: VerifyEmailInput!) { verifyEmail(input: $input) { __typename } }
`);
const TwoSignIns = graphql(`
  mutation TwoSignIns($a: SignInInput!, $b: SignInInput!) {
    first: signIn(input: $a) { __typename }
    second: signIn(input: $b) { __typename }
  }
`);
const SignInAndUpByFragment = graphql(`
  mutation SignInAndUpByFragment($a: SignInInput!, $b: SignUpInput!) {
    ...ThrottleBoth
  }
  fragment ThrottleBoth on Mutation {
    signIn(input: $a) { __typename }
    ... on Mutation { signUp(input: $b) { __typename } }
  }
`);

type SignInResult = { __typename: string; message?: string; retryAfterSeconds?: number; token?: string };

let addressCounter = 1;
/** A client of the GraphQL API at `url`, on a loopback address of its own (127.0.0.2, .3, ...) unless given one. */
function client(url: string, address = `127.0.0.${++addressCounter}`) {
  const dispatcher = new Agent({ localAddress: address });
  async function request<R, V>(document: TypedDocumentNode<R, V>, variables: V): Promise<FormattedExecutionResult<R>> {
    const response = await fetch(url, {
      method: 'POST',
      dispatcher,
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json' },
      body: JSON.stringify({ query: print(document), variables }),
    });
    return (await response.json()) as FormattedExecutionResult<R>;
  }
  return {
    address,
    request,
    async signIn(email: string, password: string): Promise<SignInResult> {
      const { data, errors } = await request(ThrottleSignIn, { input: { email, password } });
      if (errors) throw new Error(JSON.stringify(errors));
      return data!.signIn as SignInResult;
    },
    async signUp(email: string, password = PASSWORD): Promise<SignInResult> {
      const { data, errors } = await request(ThrottleSignUp, { input: { email, password, displayName: 'Owner' } });
      if (errors) throw new Error(JSON.stringify(errors));
      return data!.signUp as SignInResult;
    },
    /** graphql-ws from this address. */
    ws() {
      return createClient({
        url: url.replace(/^http/, 'ws'),
        webSocketImpl: class extends WebSocket {
          constructor(target: string, protocols?: string | string[]) {
            super(target, protocols, { localAddress: address });
          }
        },
        lazy: true,
        retryAttempts: 0,
      });
    },
    close: () => dispatcher.close(),
  };
}
type Client = ReturnType<typeof client>;

/** `count` wrong passwords for `email` at once: they all arrive within the window. */
const wrongAtOnce = (from: Client, email: string, count: number) =>
  Promise.all(Array.from({ length: count }, (_, i) => from.signIn(email, `wrong password number ${i}`)));
const typenames = (results: SignInResult[]) => results.map((r) => r.__typename).sort();

/** Signs in with `password` until it works (polling, with a deadline); what each refused attempt answered. */
async function signInOnceAllowed(from: Client, email: string, password = PASSWORD, timeoutMs = 30_000) {
  const refusals: string[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await from.signIn(email, password);
    if (result.__typename === 'AuthPayload') return { refusals, result };
    refusals.push(result.__typename);
    if (Date.now() > deadline) throw new Error(`still refused after ${timeoutMs} ms: ${JSON.stringify(result)}`);
    await sleep(200);
  }
}

/** An account of its own, signed up from `from`, its email confirmed (so it can sign in). */
async function owner(from: Client): Promise<string> {
  const email = uniqueEmail('owner');
  expect((await from.signUp(email)).__typename).toBe('AccountEmailPayload');
  const token = linkToken(await latestEmail(email, 'EMAIL_VERIFICATION'), '/verify-email');
  expect((await from.request(ThrottleVerifyEmail, { input: { token } })).data?.verifyEmail.__typename).toBe('AuthPayload');
  return email;
}

describe('sign-in throttle', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(SETTINGS);
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('locks an account after N failures, the right password included, and lets its owner in once the lockout ends', async () => {
    const attacker = client(t.url);
    const email = await owner(client(t.url));
    // N failures are InvalidCredentialsError; the attempt after them is refused unhashed.
    const attack = await wrongAtOnce(attacker, email, PER_ACCOUNT + 1);
    expect(typenames(attack)).toEqual([...Array(PER_ACCOUNT).fill('InvalidCredentialsError'), 'RateLimitedError']);
    const refused = attack.find((r) => r.__typename === 'RateLimitedError')!;
    const lockedAt = Date.now();
    expect(refused.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(refused.retryAfterSeconds).toBeLessThanOrEqual(LOCKOUT_SECONDS);
    expect(refused.message).toMatch(/^Too many failed attempts for this account or from your address; try again in \d seconds$/);

    // The owner, from another address and with the right password, waits for the lockout too:
    // otherwise the answer would tell the attacker which guess was right.
    const owners = client(t.url);
    const { refusals, result } = await signInOnceAllowed(owners, email);
    expect(refusals.length).toBeGreaterThan(0);
    expect(new Set(refusals)).toEqual(new Set(['RateLimitedError']));
    expect(result.token).toMatch(/^tta_/);
    expect(Date.now() - lockedAt).toBeGreaterThanOrEqual((refused.retryAfterSeconds! - 1) * 1000);
  });

  it("forgets an account's failures when its owner signs in, and counts unknown emails alike", async () => {
    const from = client(t.url);
    const email = await owner(from);
    expect(typenames(await wrongAtOnce(from, email, PER_ACCOUNT - 1))).toEqual(Array(PER_ACCOUNT - 1).fill('InvalidCredentialsError'));
    expect((await from.signIn(email, PASSWORD)).__typename).toBe('AuthPayload');
    // A full budget again: N more failures before the lock.
    expect(typenames(await wrongAtOnce(from, email, PER_ACCOUNT + 1))).toEqual([
      ...Array(PER_ACCOUNT).fill('InvalidCredentialsError'),
      'RateLimitedError',
    ]);

    // An email with no account is throttled the same way: the throttle does not tell which exist.
    const other = client(t.url);
    expect(typenames(await wrongAtOnce(other, uniqueEmail('nobody'), PER_ACCOUNT + 1))).toEqual([
      ...Array(PER_ACCOUNT).fill('InvalidCredentialsError'),
      'RateLimitedError',
    ]);
  });

  it('bounds the failures from one address across accounts; other addresses are not affected', async () => {
    const attacker = client(t.url);
    const someoneElse = client(t.url);
    const email = await owner(someoneElse);
    const emails = Array.from({ length: PER_ADDRESS }, () => uniqueEmail('sprayed'));
    const spray = await Promise.all(emails.map((e) => attacker.signIn(e, 'password spraying')));
    expect(typenames(spray)).toEqual(Array(PER_ADDRESS).fill('InvalidCredentialsError'));
    // The address is spent: the next attempt is refused whatever the account, right password or not.
    expect(await attacker.signIn(email, PASSWORD)).toMatchObject({ __typename: 'RateLimitedError' });
    expect((await attacker.signIn(uniqueEmail('sprayed'), 'another guess')).__typename).toBe('RateLimitedError');
    // Another address signs in to that account, and to the sprayed emails' budgets as usual.
    expect((await someoneElse.signIn(email, PASSWORD)).__typename).toBe('AuthPayload');
    expect((await someoneElse.signIn(emails[0], 'a first guess from here')).__typename).toBe('InvalidCredentialsError');
  });

  it('bounds the sign-ups from one address, creating nothing past the limit', async () => {
    const from = client(t.url);
    const emails = Array.from({ length: SIGNUPS_PER_ADDRESS + 1 }, () => uniqueEmail('flood'));
    const results = await Promise.all(emails.map((email) => from.signUp(email)));
    expect(typenames(results)).toEqual([...Array(SIGNUPS_PER_ADDRESS).fill('AccountEmailPayload'), 'RateLimitedError']);
    const refusedEmail = emails[results.findIndex((r) => r.__typename === 'RateLimitedError')];
    const refused = results.find((r) => r.__typename === 'RateLimitedError') as { message: string };
    expect(refused.message).toMatch(/^Too many sign-ups from your address; try again in \d+ seconds$/);
    // No account was made for it, and no email sent.
    expect(await mailbox(refusedEmail)).toEqual([]);
  });

  it('refuses an operation with two signIn/signUp, aliased or through fragments, before running it (HTTP and graphql-ws)', async () => {
    const from = client(t.url);
    const email = await owner(client(t.url));
    const twice = await from.request(TwoSignIns, { a: { email, password: 'guess one' }, b: { email, password: 'guess two' } });
    expect(twice.data).toBeUndefined();
    expect(twice.errors).toEqual([
      expect.objectContaining({
        message: 'An operation may hold one signIn, signUp, changePassword or resetPassword, not 2 (first, second); send each in a request of its own',
        extensions: { code: 'ONE_SIGN_IN_PER_OPERATION' },
      }),
    ]);
    const byFragment = await from.request(SignInAndUpByFragment, {
      a: { email, password: 'guess three' },
      b: { email: uniqueEmail(), password: PASSWORD, displayName: 'Twin' },
    });
    expect(byFragment.errors?.map((e) => e.message)).toEqual([
      'An operation may hold one signIn, signUp, changePassword or resetPassword, not 2 (signIn, signUp); send each in a request of its own',
    ]);

    const ws = from.ws();
    const wsErrors = await new Promise<unknown>((resolve, reject) => {
      ws.subscribe(
        { query: print(TwoSignIns), variables: { a: { email, password: 'guess four' }, b: { email, password: 'guess five' } } },
        { next: () => reject(new Error('executed')), error: resolve, complete: () => reject(new Error('completed')) },
      );
    });
    expect(wsErrors).toEqual([expect.objectContaining({ message: expect.stringMatching(/^An operation may hold one signIn, signUp, changePassword or resetPassword, not 2/) })]);
    await ws.dispose();
    // None of those guesses ran: the account's whole budget is still there.
    expect(typenames(await wrongAtOnce(client(t.url), email, PER_ACCOUNT))).toEqual(Array(PER_ACCOUNT).fill('InvalidCredentialsError'));
  });

  it('counts failures over graphql-ws against the socket’s address, as over HTTP', async () => {
    const from = client(t.url);
    const ws = from.ws();
    const overWs = (email: string) =>
      new Promise<SignInResult>((resolve, reject) => {
        ws.subscribe<{ signIn: SignInResult }>(
          { query: print(ThrottleSignIn), variables: { input: { email, password: 'guessed over a socket' } } },
          { next: (value) => resolve(value.data!.signIn), error: reject, complete: () => {} },
        );
      });
    const results = await Promise.all(Array.from({ length: PER_ADDRESS }, () => overWs(uniqueEmail('ws'))));
    expect(typenames(results)).toEqual(Array(PER_ADDRESS).fill('InvalidCredentialsError'));
    expect((await overWs(uniqueEmail('ws'))).__typename).toBe('RateLimitedError');
    await ws.dispose();
    // The same address over HTTP is spent too.
    expect((await from.signIn(uniqueEmail('http'), 'a guess')).__typename).toBe('RateLimitedError');
  });
});

// ---- Two instances on one PostgreSQL and Redis; then Redis away from one of them --------------

/** A TCP proxy to Redis that the test can cut (the shared Redis itself is never stopped). */
async function redisProxy(target: URL) {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((inbound) => {
    const outbound = net.connect(Number(target.port || 6379), target.hostname);
    for (const socket of [inbound, outbound]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => socket.destroy());
    }
    inbound.pipe(outbound).pipe(inbound);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const url = new URL(target);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return {
    url: url.toString(),
    /** New connections are refused and open ones dropped. */
    async cut() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

describe.skipIf(!process.env.DATABASE_URL || !process.env.REDIS_URL)('sign-in throttle on two instances sharing Redis', () => {
  let a: TestApp;
  let b: ServerProcess;
  let bUrl: string;
  let proxy: Awaited<ReturnType<typeof redisProxy>>;
  let database: Awaited<ReturnType<typeof isolatedDatabase>>;

  beforeAll(async () => {
    database = (await isolatedDatabase('tertulia_throttle'))!;
    const shared = { ...SETTINGS, DATABASE_URL: database.url, REDIS_CHANNEL_PREFIX: `tertulia-throttle-${randomBytes(6).toString('hex')}:` };
    a = await startTestApp({ ...shared, REDIS_URL: process.env.REDIS_URL! });
    // B reaches the same Redis through a proxy this test can cut.
    proxy = await redisProxy(new URL(process.env.REDIS_URL!));
    b = new ServerProcess({ HOST: '127.0.0.1', ...shared, REDIS_URL: proxy.url });
    bUrl = await b.listening();
  }, 120_000);
  afterAll(async () => {
    killServers();
    await a?.stop();
    await database?.drop();
  });

  it('locks an account on both instances after failures on one, and lets the owner in on either once it ends', async () => {
    const email = await owner(client(a.url));
    const attack = await wrongAtOnce(client(a.url), email, PER_ACCOUNT + 1);
    expect(typenames(attack)).toEqual([...Array(PER_ACCOUNT).fill('InvalidCredentialsError'), 'RateLimitedError']);
    // B knows: the right password is refused there too, until the lockout ends.
    const { refusals, result } = await signInOnceAllowed(client(bUrl), email);
    expect(refusals[0]).toBe('RateLimitedError');
    expect(result.__typename).toBe('AuthPayload');
  });

  it('shares the per-address budget: failures on A spend it on B', async () => {
    const toA = client(a.url);
    const toB = client(bUrl, toA.address);
    const spray = (to: Client) => Promise.all(Array.from({ length: PER_ADDRESS / 2 }, () => to.signIn(uniqueEmail('spray'), 'a guess')));
    const [onA, onB] = await Promise.all([spray(toA), spray(toB)]);
    expect(typenames([...onA, ...onB])).toEqual(Array(PER_ADDRESS).fill('InvalidCredentialsError'));
    expect((await toA.signIn(uniqueEmail('spray'), 'one guess too many')).__typename).toBe('RateLimitedError');
    expect((await toB.signIn(uniqueEmail('spray'), 'one guess too many')).__typename).toBe('RateLimitedError');
  });

  it('keeps throttling, in its own memory, on an instance that loses Redis; sign-in still works there', async () => {
    await proxy.cut();
    const from = client(bUrl);
    const email = await owner(from);
    expect(typenames(await wrongAtOnce(from, email, PER_ACCOUNT + 1))).toEqual([
      ...Array(PER_ACCOUNT).fill('InvalidCredentialsError'),
      'RateLimitedError',
    ]);
    const { result } = await signInOnceAllowed(client(bUrl), email);
    expect(result.__typename).toBe('AuthPayload');
    expect(b.logs.some((line) => line.msg === 'sign-in throttle: Redis is not answering; counting in memory')).toBe(true);
  });
});
