import { graphql } from './gql/index.js';
import { uniqueEmail, type TestApp } from './helpers.js';
import { latestEmail, linkToken } from './mailbox.js';

const SignUpFixture = graphql(`
  mutation SignUpFixture($input: SignUpInput!) {
    signUp(input: $input) { __typename ... on AccountEmailPayload { email } ... on Error { message } }
  }
`);
const VerifyEmailFixture = graphql(`
  mutation VerifyEmailFixture($input: VerifyEmailInput!) {
    verifyEmail(input: $input) { __typename ... on AuthPayload { token user { id handle } } ... on Error { message } }
  }
`);
const SetRoleFixture = graphql(`
  mutation SetRoleFixture($input: SetUserRoleInput!) {
    setUserRole(input: $input) { __typename ... on Error { message } }
  }
`);
const CreateSpaceFixture = graphql(`
  mutation CreateSpaceFixture($input: CreateSpaceInput!) {
    createSpace(input: $input) { __typename ... on SpacePayload { space { id slug } } ... on Error { message } }
  }
`);
const CreateThreadFixture = graphql(`
  mutation CreateThreadFixture($input: CreateThreadInput!) {
    createThread(input: $input) { __typename ... on ThreadPayload { thread { id } } ... on Error { message } }
  }
`);
const ReplyFixture = graphql(`
  mutation ReplyFixture($input: ReplyToThreadInput!) {
    replyToThread(input: $input) { __typename ... on PostPayload { post { id } } ... on Error { message } }
  }
`);

export type Actor = { token: string; id: string };
export type Role = 'MEMBER' | 'MODERATOR' | 'AGENT' | 'COMMUNITY_MANAGER' | 'ADMIN';

/**
 * Signs up a user and follows the link of its verification email (read from the outbox), which
 * signs it in; the first one in a fresh app is the ADMIN.
 */
export async function createUser(t: TestApp, name = 'User', role?: Role, admin?: Actor): Promise<Actor> {
  const email = uniqueEmail(name.toLowerCase().replace(/\W+/g, '-'));
  const { signUp } = await t.query(SignUpFixture, { input: { email, password: 'a long enough password', displayName: name } });
  if (signUp.__typename !== 'AccountEmailPayload') throw new Error(`sign-up failed: ${JSON.stringify(signUp)}`);
  const { token, id } = await verifySignUp(t, email);
  const actor = { token, id };
  if (role && role !== 'MEMBER') {
    if (!admin) throw new Error('an admin is needed to give a role');
    const { setUserRole } = await t.query(SetRoleFixture, { input: { userId: actor.id, role } }, admin.token);
    if (setUserRole.__typename !== 'SetUserRolePayload') throw new Error(JSON.stringify(setUserRole));
  }
  return actor;
}

/** Follows the verification link a sign-up for `email` was sent: the member signed in, with their handle. */
export async function verifySignUp(t: TestApp, email: string): Promise<Actor & { handle: string }> {
  const token = linkToken(await latestEmail(email, 'EMAIL_VERIFICATION'), '/verify-email');
  const { verifyEmail } = await t.query(VerifyEmailFixture, { input: { token } });
  if (verifyEmail.__typename !== 'AuthPayload') throw new Error(`verification failed: ${JSON.stringify(verifyEmail)}`);
  return { token: verifyEmail.token, id: verifyEmail.user.id, handle: verifyEmail.user.handle };
}

export async function createSpace(
  t: TestApp,
  admin: Actor,
  slug: string,
  visibility: 'PUBLIC' | 'MEMBERS' | 'STAFF' = 'PUBLIC',
): Promise<string> {
  const { createSpace } = await t.query(CreateSpaceFixture, { input: { name: slug, slug, visibility } }, admin.token);
  if (createSpace.__typename !== 'SpacePayload') throw new Error(JSON.stringify(createSpace));
  return createSpace.space.id;
}

export async function createThread(t: TestApp, author: Actor, spaceId: string, title = 'A thread', body = 'Its body'): Promise<string> {
  const { createThread } = await t.query(CreateThreadFixture, { input: { spaceId, title, body } }, author.token);
  if (createThread.__typename !== 'ThreadPayload') throw new Error(JSON.stringify(createThread));
  return createThread.thread.id;
}

export async function reply(t: TestApp, author: Actor, threadId: string, body = 'A reply'): Promise<string> {
  const { replyToThread } = await t.query(ReplyFixture, { input: { threadId, body } }, author.token);
  if (replyToThread.__typename !== 'PostPayload') throw new Error(JSON.stringify(replyToThread));
  return replyToThread.post.id;
}

export type Community = {
  admin: Actor;
  manager: Actor;
  moderator: Actor;
  agent: Actor;
  alice: Actor;
  bob: Actor;
  publicSpace: string;
  membersSpace: string;
  staffSpace: string;
};

/** One user per role (Alice and Bob are members) and one space per visibility. */
export async function createCommunity(
  t: TestApp,
  slugs = { public: 'general', members: 'members-lounge', staff: 'staff-room' },
): Promise<Community> {
  const admin = await createUser(t, 'Admin');
  const manager = await createUser(t, 'Manager', 'COMMUNITY_MANAGER', admin);
  return {
    admin,
    manager,
    moderator: await createUser(t, 'Moderator', 'MODERATOR', admin),
    agent: await createUser(t, 'Agent', 'AGENT', admin),
    alice: await createUser(t, 'Alice'),
    bob: await createUser(t, 'Bob'),
    publicSpace: await createSpace(t, manager, slugs.public),
    membersSpace: await createSpace(t, manager, slugs.members, 'MEMBERS'),
    staffSpace: await createSpace(t, manager, slugs.staff, 'STAFF'),
  };
}
