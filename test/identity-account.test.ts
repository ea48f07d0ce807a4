import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print, type FormattedExecutionResult } from 'graphql';
import { Agent, fetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prisma } from '../src/db/client.js';
import { activitySubscriberCount } from '../src/events/bus.js';
import { ensureUserForEmail } from '../src/modules/identity/identity.service.js';
import { createUser, type Actor } from './fixtures.js';
import { until } from './feeds.js';
import { graphql } from './gql/index.js';
import { startTestApp, subscribe, uniqueEmail, type TestApp } from './helpers.js';
import { latestEmail, linkToken, mailbox } from './mailbox.js';

// Account emails through the public API: enumeration-safe sign-up, email verification, password
// reset by email and password change, with the emails read from the outbox (the recipient's inbox).

const PASSWORD = 'a long enough password';

const SignUp = graphql(`
  mutation AccountSignUp($input: SignUpInput!) {
    signUp(input: $input) {
      __typename
      ... on AccountEmailPayload { email message }
      ... on RateLimitedError { retryAfterSeconds }
      ... on ValidationError { fieldErrors { path message } }
      ... on Error { message }
    }
  }
`);
const VerifyEmail = graphql(`
  mutation AccountVerifyEmail($input: VerifyEmailInput!) {
    verifyEmail(input: $input) {
      __typename
      ... on AuthPayload { token user { id displayName email emailVerified } }
      ... on InvalidTokenError { reason }
      ... on Error { message }
    }
  }
`);
const ResendVerification = graphql(`
  mutation AccountResendVerification($input: ResendVerificationEmailInput!) {
    resendVerificationEmail(input: $input) { __typename ... on AccountEmailPayload { email message } ... on Error { message } }
  }
`);
const RequestReset = graphql(`
  mutation AccountRequestReset($input: RequestPasswordResetInput!) {
    requestPasswordReset(input: $input) { __typename ... on AccountEmailPayload { email message } ... on Error { message } }
  }
`);
const ResetPassword = graphql(`
  mutation AccountResetPassword($input: ResetPasswordInput!) {
    resetPassword(input: $input) {
      __typename
      ... on AuthPayload { token user { id } }
      ... on InvalidTokenError { reason }
      ... on ValidationError { fieldErrors { path message } }
      ... on Error { message }
    }
  }
`);
const ChangePassword = graphql(`
  mutation AccountChangePassword($input: ChangePasswordInput!) {
    changePassword(input: $input) {
      __typename
      ... on ChangePasswordPayload { endedSessionCount user { id } }
      ... on ValidationError { fieldErrors { path message } }
      ... on Error { message }
    }
  }
`);
const SignIn = graphql(`
  mutation AccountSignIn($input: SignInInput!) {
    signIn(input: $input) { __typename ... on AuthPayload { token } ... on Error { message } }
  }
`);
const Viewer = graphql(`query AccountViewer { viewer { id email emailVerified } }`);
const UserNode = graphql(`query AccountUserNode($id: ID!) { node(id: $id) { ... on User { id email emailVerified } } }`);
const PasswordEvents = graphql(`
  subscription AccountPasswordEvents { activity(filter: { kinds: [USER_PASSWORD_CHANGED] }) { kind subject { id } } }
`);

let t: TestApp;
let admin: Actor;

beforeAll(async () => {
  t = await startTestApp({ SIGNIN_MAX_FAILURES_PER_ACCOUNT: '3', ACCOUNT_EMAILS_MAX_PER_EMAIL: '3', ACCOUNT_EMAILS_MAX_PER_ADDRESS: '20' });
  admin = await createUser(t, 'Admin');
});
afterAll(() => t?.stop());

const signUp = async (email: string, password = PASSWORD, displayName = 'Someone') =>
  (await t.query(SignUp, { input: { email, password, displayName } })).signUp;
const verify = async (token: string) => (await t.query(VerifyEmail, { input: { token } })).verifyEmail;
const signIn = async (email: string, password = PASSWORD) => (await t.query(SignIn, { input: { email, password } })).signIn;
const verificationToken = async (email: string) => linkToken(await latestEmail(email, 'EMAIL_VERIFICATION'), '/verify-email');
const resetToken = async (email: string) => linkToken(await latestEmail(email, 'PASSWORD_RESET'), '/reset-password');

/** A signed-up, confirmed account and a session of it. */
async function account(name = 'member'): Promise<{ email: string; token: string; id: string }> {
  const email = uniqueEmail(name);
  expect((await signUp(email)).__typename).toBe('AccountEmailPayload');
  const verified = await verify(await verificationToken(email));
  if (verified.__typename !== 'AuthPayload') throw new Error(JSON.stringify(verified));
  return { email, token: verified.token, id: verified.user.id };
}

/** The status of an authenticated request with `token` (401 once the session is revoked). */
async function statusWith(token: string): Promise<number> {
  const response = await fetch(t.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: '{ viewer { id } }' }),
  });
  await response.arrayBuffer();
  return response.status;
}

/** The answer with the address written out as <address>: the only part that may differ between two addresses. */
const withoutAddress = (answer: unknown, address: string) => JSON.stringify(answer).replaceAll(address, '<address>');

describe('sign-up', () => {
  it('answers the same whether or not the email is taken; a free one gets a link, the owner of a taken one is told', async () => {
    const owner = await account('owner');
    const fresh = uniqueEmail('fresh');
    const freeAnswer = await t.request(SignUp, { input: { email: fresh, password: PASSWORD, displayName: 'New' } });
    const takenAnswer = await t.request(SignUp, { input: { email: owner.email.toUpperCase(), password: 'another fine passphrase', displayName: 'Squatter' } });
    expect(freeAnswer).toEqual({
      data: { signUp: { __typename: 'AccountEmailPayload', email: fresh, message: `If this address can be used, an email is on its way to ${fresh}: follow its instructions.` } },
    });
    expect(withoutAddress(takenAnswer, owner.email)).toBe(withoutAddress(freeAnswer, fresh));

    // The fresh address got a link; the owner got a warning with no link that signs anyone in.
    expect((await mailbox(fresh)).map((e) => e.kind)).toEqual(['EMAIL_VERIFICATION']);
    const warning = await latestEmail(owner.email);
    expect(warning).toMatchObject({ kind: 'SIGN_UP_EMAIL_TAKEN', subject: 'Someone tried to sign up with your address' });
    expect(warning.text).toContain('/reset-password');
    expect(warning.text).not.toContain('token=');
    // Nothing changed for the owner: the old password works, the squatter's does not.
    expect((await signIn(owner.email)).__typename).toBe('AuthPayload');
    expect(await signIn(owner.email, 'another fine passphrase')).toEqual({ __typename: 'InvalidCredentialsError', message: 'Email or password is incorrect' });
  });

  it('refuses bad input with the same errors for a taken and a free email', async () => {
    const owner = await account('weak-owner');
    const free = uniqueEmail('weak-free');
    for (const password of ['short', 'password123', 'qwertyuiop']) {
      const taken = await signUp(owner.email, password);
      expect(taken.__typename).toBe('ValidationError');
      expect(withoutAddress(taken, owner.email)).toBe(withoutAddress(await signUp(free, password), free));
    }
    expect(await mailbox(free)).toEqual([]);
  });

  it('makes an account that cannot sign in with its password until the link is followed; the link signs it in', async () => {
    const email = uniqueEmail('pending');
    await signUp(email, PASSWORD, 'Pending Person');
    // The same answer as a wrong password: signing in must not tell whether the sign-up made the account.
    expect(await signIn(email)).toEqual({ __typename: 'InvalidCredentialsError', message: 'Email or password is incorrect' });
    const token = await verificationToken(email);
    const verified = await verify(token);
    expect(verified).toMatchObject({ __typename: 'AuthPayload', user: { displayName: 'Pending Person', email: null, emailVerified: null } });
    if (verified.__typename !== 'AuthPayload') return;
    expect((await t.query(Viewer, undefined, verified.token)).viewer).toEqual({ id: verified.user.id, email, emailVerified: true });
    expect((await signIn(email)).__typename).toBe('AuthPayload');
    // Each link works once.
    expect(await verify(token)).toMatchObject({ __typename: 'InvalidTokenError', reason: 'USED' });
  });

  it('refuses an unknown, expired or other-purpose token with InvalidTokenError, changing nothing', async () => {
    expect(await verify('not-a-token')).toMatchObject({ __typename: 'InvalidTokenError', reason: 'UNKNOWN' });
    expect(await verify('')).toMatchObject({ __typename: 'ValidationError' });

    const email = uniqueEmail('late');
    await signUp(email);
    const token = await verificationToken(email);
    await prisma().accountToken.updateMany({ where: { user: { email } }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expect(await verify(token)).toMatchObject({ __typename: 'InvalidTokenError', reason: 'EXPIRED' });
    expect((await prisma().user.findUniqueOrThrow({ where: { email } })).emailVerifiedAt).toBeNull();

    // A reset token is not a verification token, nor the other way round.
    const owner = await account('purpose');
    await t.query(RequestReset, { input: { email: owner.email } });
    expect(await verify(await resetToken(owner.email))).toMatchObject({ __typename: 'InvalidTokenError', reason: 'UNKNOWN' });
    const unconfirmed = uniqueEmail('purpose-unconfirmed');
    await signUp(unconfirmed);
    const reset = await t.query(ResetPassword, { input: { token: await verificationToken(unconfirmed), newPassword: 'a brand new passphrase' } });
    expect(reset.resetPassword).toMatchObject({ __typename: 'InvalidTokenError', reason: 'UNKNOWN' });
  });

  it('a sign-up again with an unconfirmed address sends a new link, which applies that sign-up\'s password and name', async () => {
    const email = uniqueEmail('again');
    await signUp(email, 'the first chosen passphrase', 'First Try');
    const first = await verificationToken(email);
    await signUp(email, 'the second chosen passphrase', 'Second Try');
    const second = await verificationToken(email);
    expect(second).not.toBe(first);
    expect((await mailbox(email)).map((e) => e.kind)).toEqual(['EMAIL_VERIFICATION', 'EMAIL_VERIFICATION']);
    expect(await verify(second)).toMatchObject({ __typename: 'AuthPayload', user: { displayName: 'Second Try' } });
    expect((await signIn(email, 'the second chosen passphrase')).__typename).toBe('AuthPayload');
    expect((await signIn(email, 'the first chosen passphrase')).__typename).toBe('InvalidCredentialsError');
    // The older link went with it.
    expect(await verify(first)).toMatchObject({ __typename: 'InvalidTokenError', reason: 'USED' });
  });

  it('shows emailVerified to the user and admins only', async () => {
    const member = await account('visible');
    const other = await account('other');
    expect((await t.query(UserNode, { id: member.id }, member.token)).node).toEqual({ id: member.id, email: member.email, emailVerified: true });
    expect((await t.query(UserNode, { id: member.id }, admin.token)).node).toEqual({ id: member.id, email: member.email, emailVerified: true });
    expect((await t.query(UserNode, { id: member.id }, other.token)).node).toEqual({ id: member.id, email: null, emailVerified: null });
    expect((await t.query(UserNode, { id: member.id })).node).toEqual({ id: member.id, email: null, emailVerified: null });
  });
});

describe('resendVerificationEmail', () => {
  it('sends a new link only to an unconfirmed account, with the same answer for any address', async () => {
    const confirmed = await account('resend-confirmed');
    const unconfirmed = uniqueEmail('resend-unconfirmed');
    await signUp(unconfirmed, 'the chosen passphrase here', 'Resender');
    const nobody = uniqueEmail('resend-nobody');
    const answers = await Promise.all(
      [confirmed.email, unconfirmed, nobody].map(async (email) => [email, await t.request(ResendVerification, { input: { email } })] as const),
    );
    const shapes = answers.map(([email, answer]) => withoutAddress(answer, email));
    expect(new Set(shapes).size).toBe(1);
    expect((await mailbox(confirmed.email)).map((e) => e.kind)).toEqual(['EMAIL_VERIFICATION']);
    expect(await mailbox(nobody)).toEqual([]);
    expect((await mailbox(unconfirmed)).map((e) => e.kind)).toEqual(['EMAIL_VERIFICATION', 'EMAIL_VERIFICATION']);
    // The new link signs in, with the password of the sign-up.
    expect(await verify(await verificationToken(unconfirmed))).toMatchObject({ __typename: 'AuthPayload', user: { displayName: 'Resender' } });
    expect((await signIn(unconfirmed, 'the chosen passphrase here')).__typename).toBe('AuthPayload');
  });
});

describe('password reset', () => {
  it('answers the same for any address; the link sets a new password once, ends every session and its streams, and signs in', async () => {
    const member = await account('forgetful');
    const second = await signIn(member.email);
    if (second.__typename !== 'AuthPayload') throw new Error(second.__typename);
    const nobody = uniqueEmail('forgetful-nobody');
    const known = await t.request(RequestReset, { input: { email: member.email } });
    const unknown = await t.request(RequestReset, { input: { email: nobody } });
    expect(withoutAddress(known, member.email)).toBe(withoutAddress(unknown, nobody));
    expect(await mailbox(nobody)).toEqual([]);
    const email = await latestEmail(member.email, 'PASSWORD_RESET');
    expect(email.subject).toBe('Reset your password');
    expect(email.text).toMatch(/within 60 minutes/);

    // A live stream of the old session, attached before the reset.
    const before = activitySubscriberCount();
    const stream = subscribe(t.wsClient(member.token), PasswordEvents);
    await until('the subscription', () => activitySubscriberCount() === before + 1);

    const token = linkToken(email, '/reset-password');
    const weak = await t.query(ResetPassword, { input: { token, newPassword: 'password123' } });
    expect(weak.resetPassword).toMatchObject({ __typename: 'ValidationError', fieldErrors: [{ path: ['input', 'newPassword'] }] });
    // The link still works after a weak password was refused.
    const reset = await t.query(ResetPassword, { input: { token, newPassword: 'a brand new passphrase' } });
    expect(reset.resetPassword).toMatchObject({ __typename: 'AuthPayload', user: { id: member.id } });
    if (reset.resetPassword.__typename !== 'AuthPayload') return;

    await expect(stream.next(1, 10_000)).rejects.toThrow(/This access token was revoked; sign in again and resubscribe/);
    expect(await statusWith(member.token)).toBe(401);
    expect(await statusWith(second.token)).toBe(401);
    expect(await statusWith(reset.resetPassword.token)).toBe(200);
    expect((await signIn(member.email)).__typename).toBe('InvalidCredentialsError');
    expect((await signIn(member.email, 'a brand new passphrase')).__typename).toBe('AuthPayload');
    expect((await latestEmail(member.email)).kind).toBe('PASSWORD_CHANGED');

    const reused = await t.query(ResetPassword, { input: { token, newPassword: 'yet another passphrase' } });
    expect(reused.resetPassword).toMatchObject({ __typename: 'InvalidTokenError', reason: 'USED' });
  });

  it('refuses an expired link, and an older link once a newer one was used', async () => {
    const member = await account('expired-reset');
    await t.query(RequestReset, { input: { email: member.email } });
    const older = await resetToken(member.email);
    await t.query(RequestReset, { input: { email: member.email } });
    const newer = await resetToken(member.email);
    await prisma().accountToken.updateMany({ where: { tokenHash: { not: '' }, user: { email: member.email }, purpose: 'PASSWORD_RESET' }, data: {} });
    const expiredUser = await account('expired-reset-2');
    await t.query(RequestReset, { input: { email: expiredUser.email } });
    const expired = await resetToken(expiredUser.email);
    await prisma().accountToken.updateMany({ where: { user: { email: expiredUser.email }, purpose: 'PASSWORD_RESET' }, data: { expiresAt: new Date(Date.now() - 1) } });
    expect((await t.query(ResetPassword, { input: { token: expired, newPassword: 'a brand new passphrase' } })).resetPassword).toMatchObject({
      __typename: 'InvalidTokenError',
      reason: 'EXPIRED',
    });
    expect(await statusWith(expiredUser.token)).toBe(200);

    expect((await t.query(ResetPassword, { input: { token: newer, newPassword: 'a brand new passphrase' } })).resetPassword.__typename).toBe('AuthPayload');
    expect((await t.query(ResetPassword, { input: { token: older, newPassword: 'another new passphrase' } })).resetPassword).toMatchObject({
      __typename: 'InvalidTokenError',
      reason: 'USED',
    });
  });

  it('lets the account of an outside support sender (made with no password) claim it by email', async () => {
    const email = uniqueEmail('requester');
    await ensureUserForEmail({ email, displayName: 'Requester' });
    expect(await signIn(email)).toMatchObject({ __typename: 'InvalidCredentialsError' });
    await t.query(RequestReset, { input: { email } });
    const reset = await t.query(ResetPassword, { input: { token: await resetToken(email), newPassword: 'my own passphrase now' } });
    if (reset.resetPassword.__typename !== 'AuthPayload') throw new Error(reset.resetPassword.__typename);
    // The link came to the address, so it is confirmed now.
    expect((await t.query(Viewer, undefined, reset.resetPassword.token)).viewer).toMatchObject({ email, emailVerified: true });
    expect((await signIn(email, 'my own passphrase now')).__typename).toBe('AuthPayload');
  });
});

describe('changePassword', () => {
  it('needs the current password, and a strong new one', async () => {
    const member = await account('changer-rules');
    const change = async (currentPassword: string, newPassword: string, token: string | null = member.token) =>
      (await t.query(ChangePassword, { input: { currentPassword, newPassword } }, token)).changePassword;
    expect(await change(PASSWORD, 'a brand new passphrase', null)).toEqual({ __typename: 'UnauthenticatedError', message: 'Sign in to do this' });
    expect(await change('not the password', 'a brand new passphrase')).toEqual({
      __typename: 'InvalidCredentialsError',
      message: 'The current password is incorrect',
    });
    expect(await change(PASSWORD, 'qwertyuiop')).toMatchObject({
      __typename: 'ValidationError',
      fieldErrors: [{ path: ['input', 'newPassword'], message: expect.stringMatching(/^is too easy to guess/) }],
    });
    // Nothing changed.
    expect((await signIn(member.email)).__typename).toBe('AuthPayload');
    expect(await mailbox(member.email).then((m) => m.map((e) => e.kind))).toEqual(['EMAIL_VERIFICATION']);
  });

  it('ends every other session and its live streams, keeps this one, and tells the owner by email', async () => {
    const member = await account('changer');
    const others = await Promise.all([signIn(member.email), signIn(member.email)]);
    const otherTokens = others.map((o) => (o.__typename === 'AuthPayload' ? o.token : ''));
    const before = activitySubscriberCount();
    const kept = subscribe(t.wsClient(member.token), PasswordEvents);
    const ended = subscribe(t.wsClient(otherTokens[0]), PasswordEvents);
    await until('both subscriptions', () => activitySubscriberCount() === before + 2);

    const { changePassword } = await t.query(ChangePassword, { input: { currentPassword: PASSWORD, newPassword: 'a brand new passphrase' } }, member.token);
    expect(changePassword).toEqual({ __typename: 'ChangePasswordPayload', endedSessionCount: 2, user: { id: member.id } });

    await expect(ended.next(1, 10_000)).rejects.toThrow(/This access token was revoked; sign in again and resubscribe/);
    expect((await kept.next(1, 10_000))[0].data).toEqual({ activity: { kind: 'USER_PASSWORD_CHANGED', subject: { id: member.id } } });
    expect(await Promise.all(otherTokens.map(statusWith))).toEqual([401, 401]);
    expect(await statusWith(member.token)).toBe(200);
    expect((await signIn(member.email, 'a brand new passphrase')).__typename).toBe('AuthPayload');
    expect((await signIn(member.email)).__typename).toBe('InvalidCredentialsError');
    const email = await latestEmail(member.email);
    expect(email).toMatchObject({ kind: 'PASSWORD_CHANGED', subject: 'Your password was changed' });
    expect(email.text).toContain('/reset-password');
  });

  it('counts wrong current passwords like failed sign-ins: past the limit, RateLimitedError even for the right one', async () => {
    const member = await account('guessed');
    const change = async (currentPassword: string) =>
      (await t.query(ChangePassword, { input: { currentPassword, newPassword: 'a brand new passphrase' } }, member.token)).changePassword.__typename;
    // SIGNIN_MAX_FAILURES_PER_ACCOUNT is 3 in this file.
    expect([await change('wrong one'), await change('wrong two'), await change('wrong three')]).toEqual([
      'InvalidCredentialsError',
      'InvalidCredentialsError',
      'InvalidCredentialsError',
    ]);
    expect(await change(PASSWORD)).toBe('RateLimitedError');
    expect((await signIn(member.email)).__typename).toBe('RateLimitedError');
  });

  it('is one per operation, like signIn: aliases are refused before anything runs', async () => {
    const member = await account('aliased');
    const response = await fetch(t.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${member.token}` },
      body: JSON.stringify({
        query: `mutation {
          a: changePassword(input: { currentPassword: "guess one", newPassword: "a brand new passphrase" }) { __typename }
          b: changePassword(input: { currentPassword: "guess two", newPassword: "a brand new passphrase" }) { __typename }
        }`,
      }),
    });
    const body = (await response.json()) as FormattedExecutionResult;
    expect(body.errors?.[0]).toMatchObject({ extensions: { code: 'ONE_SIGN_IN_PER_OPERATION' } });
  });
});

describe('throttles', () => {
  let addressCounter = 40;
  /** Requests from a loopback address of their own (127.0.0.41, ...), as distinct clients. */
  function from(address = `127.0.0.${++addressCounter}`) {
    const dispatcher = new Agent({ localAddress: address });
    return async <R, V>(document: TypedDocumentNode<R, V>, variables: V): Promise<R> => {
      const response = await fetch(t.url, {
        method: 'POST',
        dispatcher,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: print(document), variables }),
      });
      const body = (await response.json()) as FormattedExecutionResult<R>;
      if (body.errors) throw new Error(JSON.stringify(body.errors));
      return body.data!;
    };
  }

  it('bounds the account emails asked for one address, from anywhere, whether or not it has an account', async () => {
    const target = uniqueEmail('bombed');
    const nobody = uniqueEmail('bombed-nobody');
    const asked = async (email: string) => (await from()(RequestReset, { input: { email } })).requestPasswordReset;
    // ACCOUNT_EMAILS_MAX_PER_EMAIL is 3 in this file: the sign-up takes one, two resets the others.
    expect((await signUp(target)).__typename).toBe('AccountEmailPayload');
    expect([(await asked(target)).__typename, (await asked(target)).__typename]).toEqual(['AccountEmailPayload', 'AccountEmailPayload']);
    expect(await asked(target)).toEqual({
      __typename: 'RateLimitedError',
      message: expect.stringMatching(/^Too many account emails asked for this address; try again in \d+ seconds$/),
    });
    expect((await signUp(target)).__typename).toBe('RateLimitedError');
    expect((await mailbox(target)).map((e) => e.kind)).toEqual(['EMAIL_VERIFICATION', 'PASSWORD_RESET', 'PASSWORD_RESET']);
    // An address with no account is counted the same, so a refusal tells nothing.
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push((await asked(nobody)).__typename);
    expect(answers).toEqual(['AccountEmailPayload', 'AccountEmailPayload', 'AccountEmailPayload', 'RateLimitedError']);
  });

  it('bounds the reset and verification requests from one client address', async () => {
    const client = from();
    const typenames: string[] = [];
    let last: { __typename: string; message?: string } | undefined;
    // ACCOUNT_EMAILS_MAX_PER_ADDRESS is 20 in this file.
    for (let i = 0; i < 21; i++) {
      last =
        i % 2
          ? (await client(ResendVerification, { input: { email: uniqueEmail('spray') } })).resendVerificationEmail
          : (await client(RequestReset, { input: { email: uniqueEmail('spray') } })).requestPasswordReset;
      typenames.push(last.__typename);
    }
    expect(typenames).toEqual([...Array(20).fill('AccountEmailPayload'), 'RateLimitedError']);
    expect(last?.message).toMatch(/^Too many account email requests from your address; try again in \d+ seconds$/);
    // Another address is not affected.
    expect((await from()(RequestReset, { input: { email: uniqueEmail('spray') } })).requestPasswordReset.__typename).toBe('AccountEmailPayload');
  });
});
