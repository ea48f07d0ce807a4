// Loads demo data into the configured database (`npm run seed`): the same configuration as the
// server (DATA_DIR for embedded PGlite, or DATABASE_URL; REDIS_URL so a running server sees the
// events live). Idempotent: everything is looked up by its natural key first (user email, space
// slug, thread title within its space, reply author and text within its thread), so a second run
// changes nothing and an interrupted run is completed by the next one.
//
// Writes go through the domain services, as the API's do, so rules apply and every write is in
// the activity log. With embedded PGlite, stop the server first: one process per DATA_DIR.
import { verify } from '@node-rs/argon2';
import type { Viewer } from '../src/context.js';
import { ConfigError, loadConfig, type Config } from '../src/config.js';
import { closeDatabase, openDatabase, prisma } from '../src/db/client.js';
import { writeWithActivity } from '../src/events/activity.js';
import { closeEventBus, openEventBus } from '../src/events/bus.js';
import type { User } from '../src/generated/prisma/client.js';
import type { ReactionContent, Role, SpaceVisibility } from '../src/generated/prisma/enums.js';
import {
  addReaction,
  createSpace,
  createThread,
  markAsAnswer,
  replyToThread,
} from '../src/modules/community/community.service.js';
import { configureIdentity, createVerifiedAccount } from '../src/modules/identity/identity.service.js';
import { setUserRole } from '../src/modules/support/staff.js';
import { createTrackedBrand, type BrandInput } from '../src/modules/listening/brands.js';
import type { MentionInput } from '../src/modules/listening/ingest.js';
import { createListeningSource, ingestMentions } from '../src/modules/listening/sources.js';

/** The password of every demo account. Documented in the summary; for demos only. */
const DEMO_PASSWORD = 'tertulia-demo-password';

type UserKey = 'admin' | 'manager' | 'moderator' | 'agent' | 'ana' | 'ben';

const USERS: Record<UserKey, { email: string; displayName: string; role: Role }> = {
  // First, so on an empty instance it is the account that sign-up makes ADMIN.
  admin: { email: 'admin@example.com', displayName: 'Ada Admin', role: 'ADMIN' },
  manager: { email: 'manager@example.com', displayName: 'Marta Manager', role: 'COMMUNITY_MANAGER' },
  moderator: { email: 'moderator@example.com', displayName: 'Moe Moderator', role: 'MODERATOR' },
  agent: { email: 'agent@example.com', displayName: 'Alex Agent', role: 'AGENT' },
  ana: { email: 'ana@example.com', displayName: 'Ana García', role: 'MEMBER' },
  ben: { email: 'ben@example.com', displayName: 'Ben Baker', role: 'MEMBER' },
};

const SPACES: { slug: string; name: string; description: string; visibility: SpaceVisibility }[] = [
  { slug: 'general', name: 'General', description: 'Introductions, news and everything else.', visibility: 'PUBLIC' },
  {
    slug: 'product-help',
    name: 'Product help',
    description: 'Questions about the product, answered by the community and our support team.',
    visibility: 'PUBLIC',
  },
  { slug: 'staff-room', name: 'Staff room', description: 'For moderators, agents and managers only.', visibility: 'STAFF' },
];

/** A reaction on the thread itself (`reply` omitted) or on its reply number `reply`. */
type DemoReaction = { by: UserKey; content: ReactionContent; reply?: number };
type DemoThread = {
  space: string;
  author: UserKey;
  title: string;
  body: string;
  replies: { author: UserKey; body: string }[];
  reactions: DemoReaction[];
  /** The reply the thread's author accepts as the answer. */
  answer?: number;
};

const THREADS: DemoThread[] = [
  {
    space: 'general',
    author: 'admin',
    title: 'Welcome to Tertulia',
    body: 'Hi everyone! This is the place to ask questions, share what you are building and meet other members. Be kind, stay on topic, and say hello below.',
    replies: [
      { author: 'ana', body: 'Thanks! Happy to be here. 👋' },
      { author: 'ben', body: 'Hello from Manchester! Looking forward to learning from you all.' },
    ],
    reactions: [
      { by: 'ana', content: 'HEART' },
      { by: 'ben', content: 'HOORAY' },
      { by: 'manager', content: 'THUMBS_UP', reply: 0 },
    ],
  },
  {
    space: 'general',
    author: 'ana',
    title: '¿Hay alguien más que hable español por aquí?',
    body: '¡Hola! Me encantaría conocer a otras personas de la comunidad que hablen español. ¿De dónde sois?',
    replies: [
      { author: 'moderator', body: '¡Hola, Ana! Sí, somos unos cuantos. Bienvenida a la comunidad.' },
      { author: 'ben', body: 'I only speak a little Spanish, but ¡hola! 🙂' },
    ],
    reactions: [
      { by: 'moderator', content: 'HEART' },
      { by: 'ana', content: 'LAUGH', reply: 1 },
    ],
  },
  {
    space: 'product-help',
    author: 'ben',
    title: 'How do I export my data as CSV?',
    body: 'I would like to export all my projects to a spreadsheet. Is there a CSV export somewhere in the settings?',
    replies: [
      {
        author: 'agent',
        body: 'Yes: open Settings → Data → Export and choose CSV. The file is emailed to you within a few minutes.',
      },
      { author: 'ben', body: 'Found it, thank you! Worked perfectly.' },
    ],
    reactions: [
      { by: 'ben', content: 'THUMBS_UP', reply: 0 },
      { by: 'ana', content: 'THUMBS_UP', reply: 0 },
    ],
    answer: 0,
  },
  {
    space: 'product-help',
    author: 'ana',
    title: 'No me llegan las notificaciones por correo',
    body: 'Desde ayer no recibo ningún correo de notificación, aunque las tengo activadas. ¿A alguien más le pasa?',
    replies: [
      { author: 'agent', body: 'Hola, Ana: lo estamos revisando. Mientras tanto, ¿puedes mirar en la carpeta de correo no deseado?' },
      { author: 'ana', body: 'Estaban en la carpeta de spam. ¡Gracias por la ayuda!' },
    ],
    reactions: [
      { by: 'agent', content: 'EYES' },
      { by: 'ana', content: 'HEART', reply: 0 },
    ],
  },
  {
    space: 'staff-room',
    author: 'moderator',
    title: 'Moderation guidelines: draft for review',
    body: 'I have drafted the new moderation guidelines. Main changes: a warning before any removal, and a 24-hour response target for reports. Comments welcome.',
    replies: [
      { author: 'manager', body: 'Looks good to me. Let us publish it next Monday.' },
      { author: 'agent', body: 'From support: could we link the guidelines from our reply templates?' },
    ],
    reactions: [{ by: 'manager', content: 'ROCKET' }],
  },
];

const created = { users: 0, roles: 0, spaces: 0, threads: 0, replies: 0, reactions: 0, answers: 0, brands: 0, mentions: 0 };

/**
 * The seed acts as its own demo accounts. Services read only the viewer's id and role, so no
 * session is needed (the session fields matter to signOut and live subscriptions alone).
 */
const asViewer = (user: User): Viewer => ({ id: user.id, role: user.role, sessionId: 0, sessionExpiresAt: new Date(8.64e15) });

async function ensureUsers(): Promise<Record<UserKey, User>> {
  const demos = Object.entries(USERS) as [UserKey, (typeof USERS)[UserKey]][];
  // The seed writes only as its own demo accounts. One of their emails taken by an account with
  // another password is somebody's real account: posting, and changing roles, in their name would
  // be wrong, so the seed stops before writing anything.
  const taken: string[] = [];
  for (const [, demo] of demos) {
    const user = await prisma().user.findUnique({ where: { email: demo.email }, select: { passwordHash: true } });
    if (user && !(await verify(user.passwordHash, DEMO_PASSWORD))) taken.push(demo.email);
  }
  if (taken.length) {
    throw new Error(
      `${taken.join(', ')} already ${taken.length === 1 ? 'belongs to an account' : 'belong to accounts'} of someone else (not the demo password); ` +
        'the seed writes only as its own demo accounts and changed nothing. Seed a fresh instance.',
    );
  }
  const users = {} as Record<UserKey, User>;
  for (const [key, demo] of demos) {
    let user = await prisma().user.findUnique({ where: { email: demo.email } });
    if (!user) {
      // Made confirmed directly: demo addresses have no inbox to follow a verification link from.
      user = await createVerifiedAccount({ email: demo.email, password: DEMO_PASSWORD, displayName: demo.displayName });
      created.users++;
    }
    users[key] = user;
  }

  // On an empty instance the admin's sign-up made it ADMIN. On one that already had users it
  // is a MEMBER, and no demo account may grant roles yet; borrowing some existing admin to
  // act would put words in their mouth, so the seed promotes it itself, logged with no actor.
  if (users.admin.role !== 'ADMIN') {
    users.admin = await writeWithActivity(async (tx, activity) => {
      const updated = await tx.user.update({ where: { id: users.admin.id }, data: { role: 'ADMIN' } });
      await activity.record({
        kind: 'USER_ROLE_CHANGED',
        actorId: null,
        subject: { type: 'User', id: updated.id },
        visibility: 'SUBJECT_USER',
      });
      return updated;
    });
    created.roles++;
  }
  // Everyone else gets their documented role from the demo admin, through the service.
  const admin = asViewer(users.admin);
  for (const key of Object.keys(users) as UserKey[]) {
    if (users[key].role === USERS[key].role) continue;
    users[key] = await setUserRole(admin, { userId: users[key].id, role: USERS[key].role });
    created.roles++;
  }
  return users;
}

async function ensureSpaces(manager: Viewer): Promise<Map<string, number>> {
  const ids = new Map<string, number>();
  for (const demo of SPACES) {
    let space = await prisma().space.findUnique({ where: { slug: demo.slug } });
    if (!space) {
      space = await createSpace(manager, demo);
      created.spaces++;
    }
    ids.set(demo.slug, space.id);
  }
  return ids;
}

async function ensureThread(demo: DemoThread, users: Record<UserKey, User>, spaceIds: Map<string, number>): Promise<void> {
  const spaceId = spaceIds.get(demo.space)!;
  const author = asViewer(users[demo.author]);
  let thread = await prisma().thread.findFirst({ where: { spaceId, title: demo.title }, orderBy: { id: 'asc' } });
  if (!thread) {
    thread = await createThread(author, spaceId, { title: demo.title, body: demo.body });
    created.threads++;
  }

  const replyIds: number[] = [];
  for (const reply of demo.replies) {
    const by = users[reply.author];
    let post = await prisma().post.findFirst({
      where: { threadId: thread.id, authorId: by.id, body: reply.body },
      orderBy: { id: 'asc' },
    });
    if (!post) {
      post = await replyToThread(asViewer(by), thread.id, { body: reply.body });
      created.replies++;
    }
    replyIds.push(post.id);
  }

  for (const reaction of demo.reactions) {
    const by = users[reaction.by];
    const subject =
      reaction.reply === undefined
        ? ({ typename: 'Thread', id: thread.id } as const)
        : ({ typename: 'Post', id: replyIds[reaction.reply] } as const);
    const key = subject.typename === 'Thread' ? { threadId: subject.id } : { postId: subject.id };
    const exists = await prisma().reaction.findFirst({ where: { ...key, userId: by.id, content: reaction.content } });
    if (exists) continue;
    // addReaction is idempotent too; the look-up above only keeps the summary honest.
    await addReaction(asViewer(by), subject, reaction.content);
    created.reactions++;
  }

  if (demo.answer !== undefined && thread.answerPostId !== replyIds[demo.answer]) {
    await markAsAnswer(author, replyIds[demo.answer]);
    created.answers++;
  }
}

// ---- Listening: what the web says about us and a competitor ------------------------------------

const BRANDS: BrandInput[] = [
  { name: 'Tertulia', kind: 'OWN', keywords: ['tertulia'], exclusionKeywords: ['tertulia literaria'] },
  { name: 'Discourse', kind: 'COMPETITOR', keywords: ['discourse'] },
];
const DEMO_SOURCE = 'Web mentions (demo)';
const MENTIONS: MentionInput[] = [
  { externalId: 'demo-1', url: 'https://news.example.com/tertulia-review', title: 'Tertulia review', body: 'I love how Tertulia keeps our community and support in one place. Excellent API.' },
  { externalId: 'demo-2', url: 'https://blog.example.es/tertulia', title: 'Probamos Tertulia', body: 'Tertulia es excelente: el equipo de soporte responde rápido y la búsqueda funciona muy bien.' },
  { externalId: 'demo-3', url: 'https://forum.example.com/t/42', title: 'Export is slow', body: 'The Tertulia CSV export is slow and the error message is confusing. Frustrating.' },
  { externalId: 'demo-4', url: 'https://social.example.com/p/7', body: 'La app de Tertulia falla al subir imágenes, es horrible.' },
  { externalId: 'demo-5', url: 'https://news.example.com/discourse-outage', title: 'Discourse outage', body: 'Discourse was down for hours today, a terrible experience for our members.' },
  { externalId: 'demo-6', url: 'https://blog.example.com/compare', title: 'Tertulia vs Discourse', body: 'We moved from Discourse to Tertulia for the live API and the help center.' },
  { externalId: 'demo-7', url: 'https://club.example.es/jueves', body: 'La tertulia literaria del jueves habló de poesía.' },
];

async function ensureListening(manager: Viewer): Promise<void> {
  for (const brand of BRANDS) {
    if (await prisma().trackedBrand.findUnique({ where: { name: brand.name }, select: { id: true } })) continue;
    await createTrackedBrand(manager, brand);
    created.brands++;
  }
  const source =
    (await prisma().listeningSource.findFirst({ where: { name: DEMO_SOURCE } })) ??
    (await createListeningSource(manager, { name: DEMO_SOURCE, kind: 'WEBHOOK' })).source;
  // Idempotent by source and external id: a second run adds nothing.
  const { accepted } = await ingestMentions(manager, source.id, MENTIONS);
  created.mentions += accepted;
}

function summary(config: Config): string {
  const where = config.databaseUrl ? 'PostgreSQL (DATABASE_URL)' : `embedded PGlite in ${config.dataDir}`;
  const labels: Record<keyof typeof created, [string, string]> = {
    users: ['account', 'accounts'],
    roles: ['role change', 'role changes'],
    spaces: ['space', 'spaces'],
    threads: ['thread', 'threads'],
    replies: ['reply', 'replies'],
    reactions: ['reaction', 'reactions'],
    answers: ['accepted answer', 'accepted answers'],
    brands: ['tracked brand', 'tracked brands'],
    mentions: ['web mention', 'web mentions'],
  };
  const news = (Object.entries(created) as [keyof typeof created, number][])
    .filter(([, n]) => n > 0)
    .map(([what, n]) => `${n} ${labels[what][n === 1 ? 0 : 1]}`);
  const width = Math.max(...Object.values(USERS).map((u) => u.email.length));
  return [
    `Tertulia demo data is in ${where}.`,
    news.length ? `  This run added: ${news.join(', ')}.` : '  Already seeded: nothing to add.',
    `  ${Object.keys(USERS).length} accounts, ${SPACES.length} spaces (${SPACES.map((s) => s.slug).join(', ')}), ${THREADS.length} threads with replies and reactions.`,
    `  Listening: ${BRANDS.length} tracked brands and ${MENTIONS.length} web mentions in English and Spanish (query \`mentions\` as staff).`,
    '',
    `Demo accounts (password for all: ${DEMO_PASSWORD}):`,
    ...Object.values(USERS).map((u) => `  ${u.email.padEnd(width)}  ${u.role}`),
    '',
    'Sign in:',
    `  mutation { signIn(input: { email: "admin@example.com", password: "${DEMO_PASSWORD}" }) { ... on AuthPayload { token } } }`,
  ].join('\n');
}

async function main(): Promise<number> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      return 78; // EX_CONFIG, as the server
    }
    throw error;
  }
  configureIdentity({ tokenTtlHours: config.tokenTtlHours });
  await openDatabase(config, (msg) => {
    if (msg.startsWith('applied migrations')) console.log(msg);
  });
  try {
    await openEventBus(config.redisUrl, config.redisChannelPrefix);
    const users = await ensureUsers();
    const spaceIds = await ensureSpaces(asViewer(users.manager));
    for (const thread of THREADS) await ensureThread(thread, users, spaceIds);
    await ensureListening(asViewer(users.manager));
  } finally {
    await closeEventBus();
    await closeDatabase();
  }
  console.log(summary(config));
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`Seeding failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
