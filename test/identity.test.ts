import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from './gql/index.js';
import { startTestApp, uniqueEmail, type TestApp } from './helpers.js';
import { latestEmail, linkToken, mailbox } from './mailbox.js';

const SignUp = graphql(`
  mutation SignUp($input: SignUpInput!) {
    signUp(input: $input) {
      __typename
      ... on AccountEmailPayload { email message }
      ... on ValidationError { message fieldErrors { path message } }
      ... on Error { message }
    }
  }
`);

const Verify = graphql(`
  mutation IdentityVerifyEmail($input: VerifyEmailInput!) {
    verifyEmail(input: $input) {
      __typename
      ... on AuthPayload { token user { id displayName role email } }
      ... on Error { message }
    }
  }
`);

const SignIn = graphql(`
  mutation SignIn($input: SignInInput!) {
    signIn(input: $input) {
      __typename
      ... on AuthPayload { token user { id } }
      ... on Error { message }
    }
  }
`);

const SignOut = graphql(`
  mutation SignOut {
    signOut { __typename ... on SignOutPayload { revoked } ... on Error { message } }
  }
`);

const Viewer = graphql(`query Viewer { viewer { id displayName role email } }`);

const SetUserRole = graphql(`
  mutation SetUserRole($input: SetUserRoleInput!) {
    setUserRole(input: $input) {
      __typename
      ... on SetUserRolePayload { user { id role } }
      ... on Error { message }
    }
  }
`);

const UserEmail = graphql(`query UserEmail($id: ID!) { node(id: $id) { ... on User { id displayName email } } }`);

let t: TestApp;
let admin: { token: string; id: string };
let member: { token: string; id: string; email: string };
// The app's first two sign-ups, made before any test so each test can run alone (-t); the first
// test checks what they returned.
let firstSignUp: Awaited<ReturnType<typeof signUp>>;
let secondSignUp: Awaited<ReturnType<typeof signUp>>;

beforeAll(async () => {
  t = await startTestApp();
  firstSignUp = await signUp(uniqueEmail('admin'), 'Ada Admin');
  admin = { token: firstSignUp.token, id: firstSignUp.user.id };
  const email = uniqueEmail('member');
  secondSignUp = await signUp(email, '  Mo Member  ');
  member = { token: secondSignUp.token, id: secondSignUp.user.id, email };
});
afterAll(async () => {
  await t?.stop();
});

/** Signs up and follows the verification link, which signs the account in. */
async function signUp(email: string, displayName = 'Someone', password = 'correct horse battery') {
  const { signUp } = await t.query(SignUp, { input: { email, password, displayName } });
  if (signUp.__typename !== 'AccountEmailPayload') throw new Error(`sign-up failed: ${JSON.stringify(signUp)}`);
  const { verifyEmail } = await t.query(Verify, { input: { token: linkToken(await latestEmail(email, 'EMAIL_VERIFICATION'), '/verify-email') } });
  if (verifyEmail.__typename !== 'AuthPayload') throw new Error(`verification failed: ${JSON.stringify(verifyEmail)}`);
  return verifyEmail;
}

describe('sign-up and roles', () => {
  it('makes the first account ADMIN and later ones MEMBER', async () => {
    expect(firstSignUp.user.role).toBe('ADMIN');
    // The new token is not yet this request's credential, so private fields stay hidden here.
    expect(secondSignUp.user).toMatchObject({ role: 'MEMBER', displayName: 'Mo Member', email: null });
    expect(secondSignUp.token).toMatch(/^tta_[A-Za-z0-9_-]{43}$/);
    expect((await signUp(uniqueEmail('third'), 'Third')).user.role).toBe('MEMBER');
  });

  it('rejects bad input with the fields at fault and writes nothing', async () => {
    const { signUp } = await t.query(SignUp, { input: { email: 'not-an-email', password: 'short', displayName: '' } });
    expect(signUp.__typename).toBe('ValidationError');
    if (signUp.__typename !== 'ValidationError') return;
    expect(signUp.fieldErrors.map((e) => e.path.join('.')).sort()).toEqual([
      'input.displayName',
      'input.email',
      'input.password',
    ]);
    expect(signUp.fieldErrors.find((e) => e.path[1] === 'password')?.message).toBe('must be at least 10 characters');
    const again = await t.query(SignIn, { input: { email: 'not-an-email', password: 'short' } });
    expect(again.signIn.__typename).toBe('ValidationError');
  });

  it('rejects a display name over 64 characters', async () => {
    const { signUp } = await t.query(SignUp, {
      input: { email: uniqueEmail(), password: 'long enough password', displayName: 'x'.repeat(65) },
    });
    expect(signUp).toMatchObject({ __typename: 'ValidationError', fieldErrors: [{ path: ['input', 'displayName'], message: 'must be at most 64 characters' }] });
  });

  it('treats emails case-insensitively: a second sign-up with the same email makes no account, and its owner is told', async () => {
    const { signUp } = await t.query(SignUp, {
      input: { email: member.email.toUpperCase(), password: 'another password!', displayName: 'Copy' },
    });
    expect(signUp).toMatchObject({ __typename: 'AccountEmailPayload', email: member.email });
    expect((await mailbox(member.email)).map((e) => e.kind)).toEqual(['EMAIL_VERIFICATION', 'SIGN_UP_EMAIL_TAKEN']);
    const { signIn } = await t.query(SignIn, { input: { email: member.email, password: 'another password!' } });
    expect(signIn.__typename).toBe('InvalidCredentialsError');
  });

  it('lets only an ADMIN change roles, and keeps the last ADMIN', async () => {
    const denied = await t.query(SetUserRole, { input: { userId: member.id, role: 'MODERATOR' } }, member.token);
    expect(denied.setUserRole).toEqual({ __typename: 'ForbiddenError', message: 'Only an ADMIN can change roles' });
    const anonymous = await t.query(SetUserRole, { input: { userId: member.id, role: 'MODERATOR' } });
    expect(anonymous.setUserRole.__typename).toBe('UnauthenticatedError');

    const done = await t.query(SetUserRole, { input: { userId: member.id, role: 'MODERATOR' } }, admin.token);
    expect(done.setUserRole).toEqual({ __typename: 'SetUserRolePayload', user: { id: member.id, role: 'MODERATOR' } });

    const last = await t.query(SetUserRole, { input: { userId: admin.id, role: 'MEMBER' } }, admin.token);
    expect(last.setUserRole.__typename).toBe('ConflictError');

    const badId = await t.query(SetUserRole, { input: { userId: 'garbage', role: 'ADMIN' } }, admin.token);
    expect(badId.setUserRole).toMatchObject({ __typename: 'ValidationError', message: 'input.userId: is not a valid id' });

    const back = await t.query(SetUserRole, { input: { userId: member.id, role: 'MEMBER' } }, admin.token);
    expect(back.setUserRole).toMatchObject({ user: { role: 'MEMBER' } });
  });
});

describe('sessions', () => {
  it('signs in, answers viewer, and shows an email only to its owner and admins', async () => {
    const { signIn } = await t.query(SignIn, { input: { email: member.email, password: 'correct horse battery' } });
    expect(signIn.__typename).toBe('AuthPayload');
    if (signIn.__typename !== 'AuthPayload') return;
    const { viewer } = await t.query(Viewer, undefined, signIn.token);
    expect(viewer).toMatchObject({ id: member.id, email: member.email, role: 'MEMBER' });
    expect((await t.query(Viewer)).viewer).toBeNull();

    const other = await signUp(uniqueEmail('other'));
    expect((await t.query(UserEmail, { id: member.id }, other.token)).node).toEqual({ id: member.id, displayName: 'Mo Member', email: null });
    expect((await t.query(UserEmail, { id: member.id }, admin.token)).node).toMatchObject({ email: member.email });
  });

  it('refuses a wrong password or unknown email with the same error', async () => {
    const wrong = await t.query(SignIn, { input: { email: member.email, password: 'wrong password' } });
    const unknown = await t.query(SignIn, { input: { email: uniqueEmail('nobody'), password: 'wrong password' } });
    expect(wrong.signIn).toEqual({ __typename: 'InvalidCredentialsError', message: 'Email or password is incorrect' });
    expect(unknown.signIn).toEqual(wrong.signIn);
  });

  it('revokes the token on sign-out; the revoked token then gets 401', async () => {
    const { signIn } = await t.query(SignIn, { input: { email: member.email, password: 'correct horse battery' } });
    if (signIn.__typename !== 'AuthPayload') throw new Error('sign-in failed');
    expect((await t.query(SignOut, undefined, signIn.token)).signOut).toEqual({ __typename: 'SignOutPayload', revoked: true });

    const response = await fetch(t.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${signIn.token}` },
      body: JSON.stringify({ query: '{ viewer { id } }' }),
    });
    expect(response.status).toBe(401);
    const body = await response.json();
    expect(body.errors[0]).toMatchObject({
      message: 'The access token is invalid, expired or revoked',
      extensions: { code: 'UNAUTHENTICATED' },
    });
    // The member's other sessions are untouched.
    expect((await t.query(Viewer, undefined, member.token)).viewer?.id).toBe(member.id);
  });

  it('needs a signed-in user to sign out', async () => {
    expect((await t.query(SignOut)).signOut).toEqual({ __typename: 'UnauthenticatedError', message: 'Sign in to do this' });
  });

  it('rejects a malformed Authorization header', async () => {
    const response = await fetch(t.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Token abc' },
      body: JSON.stringify({ query: '{ viewer { id } }' }),
    });
    expect(response.status).toBe(401);
  });
});
