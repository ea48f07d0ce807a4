import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onQuery, prisma } from '../src/db/client.js';
import { runDigests } from '../src/modules/members/notification-emails.js';
import { type Actor, createCommunity, createThread, createUser, reply, type Community } from './fixtures.js';
import { graphql } from './gql/index.js';
import { startTestApp, type TestApp } from './helpers.js';
import { mailbox } from './mailbox.js';
import type { ParsedMail } from 'mailparser';
import { header, TestMailServer, until } from './mail-server.js';

// Notification preferences (per kind in-app / email, digest), notification emails delivered over a
// real SMTP server and parsed, hourly/daily digests, and the one-click unsubscribe link.

const Prefs = graphql(`
  query Prefs { viewer { id email notificationPreferences { digest kinds { kind inApp email } } } }
`);
const OtherPrefs = graphql(`
  query OtherPrefs($id: ID!) { node(id: $id) { ... on User { id notificationPreferences { digest } } } }
`);
const Update = graphql(`
  mutation UpdatePrefs($input: UpdateNotificationPreferencesInput!) {
    updateNotificationPreferences(input: $input) {
      __typename
      ... on UpdateNotificationPreferencesPayload { preferences { digest kinds { kind inApp email } } }
      ... on ValidationError { fieldErrors { path } }
      ... on Error { message }
    }
  }
`);
const PrefsInbox = graphql(`
  query PrefsInbox { viewer { unreadNotificationCount notifications(first: 20) { nodes { id kind actorCount } } } }
`);
const React = graphql(`mutation PrefsReact($input: ReactionInput!) { addReaction(input: $input) { __typename } }`);
const Watch = graphql(`mutation PrefsWatch($input: SetThreadSubscriptionInput!) { setThreadSubscription(input: $input) { __typename } }`);
const MarkAll = graphql(`mutation PrefsMarkAll($input: MarkNotificationsReadInput!) { markNotificationsRead(input: $input) { __typename } }`);
const SetLocale = graphql(`mutation PrefsLocale($input: UpdateProfileInput!) { updateProfile(input: $input) { __typename } }`);
const Remove = graphql(`
  mutation PrefsRemove($input: ContentActionInput!) { removeContent(input: $input) { __typename ... on Error { message } } }
`);

const TEST_TIMEOUT = 60_000;
let smtp: TestMailServer;
let t: TestApp;
let c: Community;

beforeAll(async () => {
  smtp = await TestMailServer.start();
  t = await startTestApp({ SMTP_URL: smtp.url, MAIL_FROM: 'Tertulia <notifications@tertulia.test>', MAIL_JOB_INTERVAL_MS: '60000', SLA_JOB_INTERVAL_MS: '0', NOTIFICATION_DIGEST_INTERVAL_MS: '0' });
  c = await createCommunity(t);
}, TEST_TIMEOUT);

afterAll(async () => {
  await t?.stop();
  await smtp?.close();
});

type Kinds = { kind: string; inApp: boolean; email: boolean }[];
const prefs = async (actor: Actor) => (await t.query(Prefs, {}, actor.token)).viewer!;
const emailOf = async (actor: Actor) => (await prefs(actor)).email!;
async function update(actor: Actor, input: { kinds?: Kinds; digest?: 'IMMEDIATE' | 'HOURLY' | 'DAILY' | 'NEVER' }) {
  const { updateNotificationPreferences: r } = await t.query(Update, { input: input as never }, actor.token);
  if (r.__typename !== 'UpdateNotificationPreferencesPayload') throw new Error(JSON.stringify(r));
  return r.preferences;
}
const inbox = async (actor: Actor) => (await t.query(PrefsInbox, {}, actor.token)).viewer!;
async function untilInbox(actor: Actor, ok: (box: Awaited<ReturnType<typeof inbox>>) => boolean) {
  let box = await inbox(actor);
  await until(async () => ok((box = await inbox(actor))), 'the inbox', 20_000);
  return box;
}
const react = (actor: Actor, subjectId: string) => t.query(React, { input: { subjectId, content: 'HEART' } }, actor.token);
/** The sender's unsubscribe URL from a delivered email's List-Unsubscribe header. */
const unsubscribeUrlOf = (mail: ParsedMail) => /^<([^>]+)>$/.exec(header(mail, 'List-Unsubscribe') ?? '')?.[1];

describe('preferences', () => {
  it('has defaults, changes only what is given, and is only yours', async () => {
    const ana = await createUser(t, 'Ana');
    const before = (await prefs(ana)).notificationPreferences!;
    expect(before.digest).toBe('DAILY');
    expect(before.kinds.find((k) => k.kind === 'REACTED')).toEqual({ kind: 'REACTED', inApp: true, email: false });
    expect(before.kinds.find((k) => k.kind === 'MENTIONED')).toEqual({ kind: 'MENTIONED', inApp: true, email: true });
    expect(before.kinds.find((k) => k.kind === 'BADGE_AWARDED')).toEqual({ kind: 'BADGE_AWARDED', inApp: true, email: false });
    expect(before.kinds).toHaveLength(11);

    const after = await update(ana, { kinds: [{ kind: 'REACTED', inApp: false, email: true }] });
    expect(after.digest).toBe('DAILY');
    expect(after.kinds.find((k) => k.kind === 'REACTED')).toEqual({ kind: 'REACTED', inApp: false, email: true });
    const digest = await update(ana, { digest: 'HOURLY' });
    expect(digest.digest).toBe('HOURLY');
    expect(digest.kinds.find((k) => k.kind === 'REACTED')?.inApp).toBe(false);
    expect((await prefs(ana)).notificationPreferences).toEqual(digest);

    const twice = await t.query(Update, { input: { kinds: [{ kind: 'REPLIED', inApp: true, email: false }, { kind: 'REPLIED', inApp: false, email: false }] } }, ana.token);
    expect(twice.updateNotificationPreferences).toMatchObject({ __typename: 'ValidationError', fieldErrors: [{ path: ['input', 'kinds', '1', 'kind'] }] });
    const anonymous = await t.query(Update, { input: { digest: 'NEVER' } });
    expect(anonymous.updateNotificationPreferences.__typename).toBe('UnauthenticatedError');
    expect((await prefs(ana)).notificationPreferences!.digest).toBe('HOURLY');

    // Another member's (and an admin's view of them): null.
    const other = await t.query(OtherPrefs, { id: ana.id }, c.bob.token);
    expect(other.node).toEqual({ id: ana.id, notificationPreferences: null });
    expect((await t.query(OtherPrefs, { id: ana.id }, c.admin.token)).node).toEqual({ id: ana.id, notificationPreferences: null });
  }, TEST_TIMEOUT);

  it('leaves a kind turned off in-app out of the inbox and the unread count', async () => {
    const ana = await createUser(t, 'Ana');
    await update(ana, { kinds: [{ kind: 'REPLIED', inApp: false, email: false }] });
    const thread = await createThread(t, ana, c.publicSpace, 'In-app off');
    await reply(t, c.bob, thread, 'A reply Ana is not shown');
    await react(c.bob, thread);
    // The reaction came after the reply in the log: once it is in, the reply's turn has passed.
    // The count and the list are two statements: wait until both have seen the fan-out's write.
    const box = await untilInbox(ana, (b) => b.notifications!.nodes.some((n) => n.kind === 'REACTED') && (b.unreadNotificationCount ?? 0) > 0);
    expect(box.notifications!.nodes.map((n) => n.kind)).toEqual(['REACTED']);
    expect(box.unreadNotificationCount).toBe(1);
  }, TEST_TIMEOUT);
});

describe('notification emails', () => {
  it('emails IMMEDIATE notifications once per group, with a one-click unsubscribe that works without sign-in', async () => {
    const ana = await createUser(t, 'Ana');
    const cy = await createUser(t, 'Cy');
    const address = await emailOf(ana);
    await update(ana, { digest: 'IMMEDIATE' });
    const thread = await createThread(t, ana, c.publicSpace, 'Immediate thread');
    await reply(t, c.bob, thread, 'First reply');
    const subject = 'Bob replied in "Immediate thread"';
    const [mail] = await smtp.waitFor(subject);
    expect(mail.to && 'value' in mail.to ? mail.to.value[0].address : undefined).toBe(address);
    expect(header(mail, 'List-Unsubscribe-Post')).toBe('List-Unsubscribe=One-Click');
    const url = unsubscribeUrlOf(mail);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/unsubscribe\?token=[A-Za-z0-9_-]+\.REPLIED$/);
    expect(mail.text).toContain(subject);
    expect(mail.text).toMatch(/\/threads\/[A-Za-z0-9%=]+\?post=/);
    expect(mail.text).toContain(url);

    // A second reply while the first is unread regroups it in place: no second email.
    await reply(t, cy, thread, 'Second reply');
    await untilInbox(ana, (b) => b.notifications!.nodes.some((n) => n.kind === 'REPLIED' && n.actorCount === 2));
    expect((await mailbox(address, 'NOTIFICATION')).map((e) => e.subject)).toEqual([subject]);

    // The GET shows a page with a form that POSTs; it changes nothing by itself.
    const page = await fetch(url!);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<form method="post"');
    expect((await prefs(ana)).notificationPreferences!.kinds.find((k) => k.kind === 'REPLIED')?.email).toBe(true);

    // A broken token: 400, nothing changed.
    const broken = await fetch(url!.replace(/token=[^.]+/, 'token=not-a-real-token-at-all-xxxx'), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
    expect(broken.status).toBe(400);
    expect(await broken.text()).toContain('not valid');
    expect((await prefs(ana)).notificationPreferences!.kinds.find((k) => k.kind === 'REPLIED')?.email).toBe(true);

    // The one-click POST (RFC 8058), no sign-in.
    const done = await fetch(url!, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' });
    expect(done.status).toBe(200);
    const kinds = (await prefs(ana)).notificationPreferences!.kinds;
    expect(kinds.find((k) => k.kind === 'REPLIED')).toEqual({ kind: 'REPLIED', inApp: true, email: false });
    expect(kinds.find((k) => k.kind === 'MENTIONED')?.email).toBe(true);

    // No more email of that kind: a new group (after reading) is in the inbox, not in the mail.
    await t.query(MarkAll, { input: { before: new Date(Date.now() + 60_000).toISOString() } }, ana.token);
    await reply(t, c.bob, thread, 'Third reply');
    await untilInbox(ana, (b) => b.unreadNotificationCount === 1);
    expect((await mailbox(address, 'NOTIFICATION')).map((e) => e.subject)).toEqual([subject]);
  }, TEST_TIMEOUT);

  it('sends one digest per member and period, in their language, without what they can no longer read', async () => {
    const ana = await createUser(t, 'Ana');
    const address = await emailOf(ana);
    expect((await t.query(SetLocale, { input: { locale: 'ES' } }, ana.token)).updateProfile.__typename).toBe('UpdateProfilePayload');
    const kept = await createThread(t, ana, c.publicSpace, 'Hilo que sigue');
    const removed = await createThread(t, ana, c.publicSpace, 'Hilo retirado');
    await reply(t, c.bob, kept, 'Respuesta');
    const spam = await reply(t, c.alice, removed, 'Otra respuesta');
    await untilInbox(ana, (b) => b.unreadNotificationCount === 2);
    // Alice's reply is removed: Ana may no longer read it, so no email tells her of it.
    expect((await t.query(Remove, { input: { subjectId: spam, reason: 'spam' } }, c.moderator.token)).removeContent.__typename).toBe('ModerationActionPayload');

    // Daily by default: nothing yet; the digest for the day, run twice at once, goes out once.
    expect(await mailbox(address, 'NOTIFICATION')).toEqual([]);
    const tomorrow = new Date(Date.now() + 86_400_000);
    await Promise.all([runDigests(tomorrow), runDigests(tomorrow)]);
    await runDigests(tomorrow);
    const digests = await mailbox(address, 'DIGEST');
    expect(digests).toHaveLength(1);
    expect(digests[0].subject).toBe('1 notificación nueva');
    expect(digests[0].text).toContain('Bob respondió en «Hilo que sigue»');
    expect(digests[0].text).not.toContain('Hilo retirado');
    expect(digests[0].text).toMatch(/\/unsubscribe\?token=[A-Za-z0-9_-]+\.ALL/);
    const [mail] = await smtp.waitFor('1 notificación nueva');
    const url = unsubscribeUrlOf(mail)!;
    expect(url).toMatch(/\.ALL$/);

    // The next day's digest does not list it again; one-click ALL turns every email off.
    expect((await fetch(url, { method: 'POST', body: 'List-Unsubscribe=One-Click' })).status).toBe(200);
    expect((await prefs(ana)).notificationPreferences!.digest).toBe('NEVER');
    await t.query(MarkAll, { input: { before: new Date(Date.now() + 60_000).toISOString() } }, ana.token);
    await reply(t, c.bob, kept, 'Una más');
    await untilInbox(ana, (b) => b.unreadNotificationCount === 1);
    // Forget the day's claim, so only NEVER can keep the new notification out of a digest.
    const userId = (await prisma().user.findFirstOrThrow({ where: { email: address } })).id;
    await prisma().notificationDigest.deleteMany({ where: { userId } });
    await runDigests(tomorrow);
    expect(await mailbox(address, 'DIGEST')).toHaveLength(1);
    expect(await prisma().notification.count({ where: { userId, readAt: null, emailedAt: null } })).toBe(1);
  }, TEST_TIMEOUT);

  it('sends hourly digests only to HOURLY members, and never emails an unconfirmed address', async () => {
    const ana = await createUser(t, 'Ana');
    const address = await emailOf(ana);
    await update(ana, { digest: 'HOURLY' });
    const thread = await createThread(t, ana, c.publicSpace, 'Hourly thread');
    await reply(t, c.bob, thread, 'Within the hour');
    await untilInbox(ana, (b) => b.unreadNotificationCount === 1);
    const nextHour = new Date(Date.now() + 3600_000);
    await runDigests(nextHour);
    const [digest] = await mailbox(address, 'DIGEST');
    expect(digest.subject).toBe('1 new notification');
    expect(digest.text).toContain('Bob replied in "Hourly thread"');
    const userId = (await prisma().user.findFirstOrThrow({ where: { email: address } })).id;
    expect(await prisma().notificationDigest.findMany({ where: { userId }, select: { period: true } })).toEqual([{ period: `H:${new Date(Math.floor(nextHour.getTime() / 3600_000) * 3600_000).toISOString().slice(0, 13)}` }]);

    // An address never confirmed gets nothing, whatever its preferences.
    await prisma().user.updateMany({ where: { email: address }, data: { emailVerifiedAt: null } });
    await t.query(MarkAll, { input: { before: new Date(Date.now() + 60_000).toISOString() } }, ana.token);
    await reply(t, c.alice, thread, 'Later');
    await untilInbox(ana, (b) => b.unreadNotificationCount === 1);
    await runDigests(new Date(Date.now() + 2 * 3600_000));
    expect(await mailbox(address, 'DIGEST')).toHaveLength(1);
    expect(await prisma().notification.count({ where: { userId, readAt: null, emailedAt: null } })).toBe(1);
  }, TEST_TIMEOUT);

  it('queues the emails of a reply in a bounded number of statements, however many watch the thread', async () => {
    const thread = await createThread(t, c.alice, c.publicSpace, 'Watched by many');
    const watchers: { actor: Actor; email: string }[] = [];
    for (let i = 0; i < 6; i++) {
      const actor = await createUser(t, `Watcher${i}`);
      await update(actor, { digest: 'IMMEDIATE' });
      watchers.push({ actor, email: await emailOf(actor) });
    }
    const watch = async (w: (typeof watchers)[number]) =>
      expect((await t.query(Watch, { input: { threadId: thread, level: 'WATCHING' } }, w.actor.token)).setThreadSubscription.__typename).toBe('SetThreadSubscriptionPayload');
    // The statements of preferences and emails in the fan-out (the mail job's own are not counted).
    const measure = async (body: string, expected: number[]) => {
      const statements: string[] = [];
      const stop = onQuery((sql) => {
        if (/"NotificationPreference"|"NotificationSettings"|INSERT INTO "public"\."OutboundMessage"|SET "emailedAt"/.test(sql)) statements.push(sql);
      }, { background: true });
      try {
        await reply(t, c.bob, thread, body);
        await until(async () => {
          const boxes = await Promise.all(watchers.map((w) => mailbox(w.email, 'NOTIFICATION')));
          return boxes.every((box, i) => box.length === expected[i]);
        }, 'one email per watcher', 20_000);
      } finally {
        stop();
      }
      return statements.length;
    };
    for (const w of watchers.slice(0, 2)) await watch(w);
    const few = await measure('For two', [1, 1, 0, 0, 0, 0]);
    for (const w of watchers.slice(2)) await watch(w);
    // The first two read theirs, so the next reply starts a new group (and email) for them too.
    for (const w of watchers.slice(0, 2)) await t.query(MarkAll, { input: { before: new Date(Date.now() + 60_000).toISOString() } }, w.actor.token);
    const many = await measure('For six', [2, 2, 1, 1, 1, 1]);
    expect(few).toBeGreaterThan(0);
    expect(many).toBe(few);
  }, TEST_TIMEOUT);
});
