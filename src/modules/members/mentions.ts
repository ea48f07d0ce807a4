import type { Tx } from '../../db/client.js';
import type { User } from '../../generated/prisma/client.js';
import { normalizeHandle, usersByHandles } from './handles.js';
import { mutedBy } from './mutes.js';
import { isNewMember } from '../participation/trust-read.js';
import type { LogEvent, Produced, Producer } from './notification.fanout.js';

// @mentions: "@handle" in a thread's or a post's body. Parsed from the text (never stored), so an
// edit changes them at once; resolved to users by current handle or by a given-up one still
// redirecting (handles.ts usersByHandles). The MENTIONED notifications are written by the
// notification fan-out (mentionedProducer), after commit, from the body as it is then.

let settings = { maxPerPost: 10, tl0MaxPerPost: 2 };
export function configureMentions(options: { maxPerPost: number; tl0MaxPerPost?: number }): void {
  settings = { ...settings, ...options };
}

// Fenced code blocks (``` or ~~~, closed by a fence of the same character at least as long).
const FENCE = /^ {0,3}(`{3,}|~{3,})/;
// Inline code spans: a run of backticks up to the next run of the same length.
const CODE_SPAN = /(?<!`)(`+)(?!`)[\s\S]*?(?<!`)\1(?!`)/g;
// URLs (scheme:// or www.) up to the next space or angle bracket: "https://x.example/@ana" is no mention.
const URL_TEXT = /(?:\b[a-z][a-z0-9+.-]*:\/\/|\bwww\.)[^\s<>]*/gi;
// "@" not glued to what comes before (an email address "ana@example.com", "a@b", "@@x"), and a
// name not running on into more name characters, "@" or a domain ("@example.com").
const MENTION = /(?<![\p{L}\p{N}_@./+\-=`])@([\p{L}\p{N}_]+)(?![\p{L}\p{N}_@]|[.-][\p{L}\p{N}])/gu;

/** The body's lines that are prose: code blocks (fenced, or indented after a blank line) dropped. */
function proseLines(body: string): string[] {
  const lines: string[] = [];
  let fence: string | null = null;
  let indented = false;
  let previousBlank = true;
  for (const line of body.split(/\r\n|\r|\n/)) {
    const opening = FENCE.exec(line);
    if (fence) {
      if (opening && opening[1][0] === fence[0] && opening[1].length >= fence.length && line.trim() === opening[0].trim()) fence = null;
      lines.push('');
      continue;
    }
    if (opening) {
      fence = opening[1];
      lines.push('');
      continue;
    }
    const blank = line.trim() === '';
    // An indented code block starts after a blank line and runs while lines stay indented (or blank).
    if (/^(?: {4}|\t)/.test(line) && !blank && (previousBlank || indented)) indented = true;
    else if (!blank) indented = false;
    lines.push(indented ? '' : line);
    previousBlank = blank;
  }
  return lines;
}

/**
 * The handles a body mentions, lower-cased, each once, in order of first mention, at most `max`
 * (MAX_MENTIONS_PER_POST): the rest stay plain text. Mentions in code (spans and blocks), email
 * addresses and URLs are not mentions; nor is what cannot be a handle (too short, too long).
 */
export function parseMentions(body: string, max = settings.maxPerPost): string[] {
  const found: string[] = [];
  if (max <= 0) return found;
  const prose = proseLines(body).join('\n').replace(CODE_SPAN, ' ').replace(URL_TEXT, ' ');
  for (const match of prose.matchAll(MENTION)) {
    const handle = normalizeHandle(match[1]);
    if (handle === null || found.includes(handle)) continue;
    found.push(handle);
    if (found.length >= max) break;
  }
  return found;
}

/** The users `handles` name, each once, in the order of the handles (an old and a new handle of one user: once). */
export function mentionedUsers(handles: readonly string[], users: ReadonlyMap<string, User>): User[] {
  const seen = new Set<number>();
  const result: User[] = [];
  for (const handle of handles) {
    const user = users.get(handle);
    if (user && !seen.has(user.id)) {
      seen.add(user.id);
      result.push(user);
    }
  }
  return result;
}

/** The users each body mentions (Thread.mentions, Post.mentions): all handles of a page resolved together. */
export async function resolveMentions(handles: readonly string[]): Promise<(User | null)[]> {
  const users = await usersByHandles(handles);
  return handles.map((handle) => users.get(handle) ?? null);
}

/** The content a mention is in, as the fan-out reads it when it gets there. */
type Content = { body: string; threadId: number; postId: number | null; spaceId: number; readable: boolean };
type Subject = { type: string; id: number };

/**
 * The body of a thread or post now, and whether members may read it: published and not hidden (a
 * HIDDEN body is withheld from members), in a thread that is too, neither deleted by its author.
 * One statement.
 */
async function loadContent(tx: Tx, subject: Subject): Promise<Content | null> {
  const [row] =
    subject.type === 'Post'
      ? await tx.$queryRaw<Content[]>`
          SELECT p."body", p."threadId", p."id" AS "postId", t."spaceId",
                 (p."moderationStatus" = 'VISIBLE' AND p."deletedAt" IS NULL AND t."moderationStatus" = 'VISIBLE' AND t."deletedAt" IS NULL) AS "readable"
          FROM "Post" p JOIN "Thread" t ON t."id" = p."threadId" WHERE p."id" = ${subject.id}::int`
      : await tx.$queryRaw<Content[]>`
          SELECT t."body", t."id" AS "threadId", NULL::int AS "postId", t."spaceId", (t."moderationStatus" = 'VISIBLE' AND t."deletedAt" IS NULL) AS "readable"
          FROM "Thread" t WHERE t."id" = ${subject.id}::int`;
  return row ?? null;
}

const NONE: Produced = { notified: [] };

/**
 * MENTIONED for one thread or post, from `writerId`: to each user its body @mentions (within
 * MAX_MENTIONS_PER_POST) who can read it (its space open to their role now, the content published
 * and not hidden: never for removed or held content), but the writer, and not those who muted the
 * writer (staff cannot be muted). One per recipient and thread or post ("m:<type>:<id>", kept when
 * read): an edit notifies only those the content had not notified yet, so the mentions an edit
 * adds are told and the others are not told twice.
 */
async function notifyMentioned(tx: Tx, event: LogEvent, subject: Subject, writerId: number): Promise<Produced> {
  if (subject.type !== 'Thread' && subject.type !== 'Post') return NONE;
  const content = await loadContent(tx, subject);
  if (!content?.readable) return NONE;
  // A new member's (TL0) mentions notify only up to TL0_MAX_MENTIONS (participation/trust-read.ts).
  const cap = (await isNewMember(tx, writerId)) ? Math.min(settings.maxPerPost, settings.tl0MaxPerPost) : settings.maxPerPost;
  const handles = parseMentions(content.body, cap);
  if (handles.length === 0) return NONE;
  const candidates = mentionedUsers(handles, await usersByHandles(handles, tx)).filter((user) => user.id !== writerId);
  if (candidates.length === 0) return NONE;
  const muted = await mutedBy(candidates.map((user) => user.id), writerId, tx);
  const ids = candidates.filter((user) => !muted.has(user.id)).map((user) => user.id);
  if (ids.length === 0) return NONE;
  // The space's visibility against each recipient's role (visibleSpaceVisibilities in SQL).
  const rows = await tx.$queryRaw<{ id: number; userId: number }[]>`
    INSERT INTO "Notification" ("userId", "kind", "subjectType", "subjectId", "threadId", "postId", "caseId", "groupKey", "lastActivityId", "actorIds", "actorCount", "detail", "createdAt", "updatedAt")
    SELECT u."id", 'MENTIONED'::"NotificationKind", ${subject.type}::text, ${subject.id}::int, ${content.threadId}::int, ${content.postId}::int, NULL,
           ${`m:${subject.type}:${subject.id}`}::text, ${event.id}::bigint, ARRAY[${writerId}::int], 1, NULL,
           ${event.occurredAt}::timestamp, ${event.occurredAt}::timestamp
    FROM "User" u JOIN "Space" s ON s."id" = ${content.spaceId}::int
    WHERE u."id" = ANY(${ids}::int[]) AND (s."visibility" <> 'STAFF' OR u."role" <> 'MEMBER')
    ON CONFLICT ("userId", "groupKey") DO NOTHING
    RETURNING "id", "userId"`;
  return { notified: rows.map((row) => ({ userId: row.userId, notificationId: row.id })) };
}

/** On THREAD_CREATED, POST_CREATED, THREAD_EDITED and POST_EDITED: the writer is who wrote or edited it. */
export const mentionedProducer: Producer = async (tx, event) => {
  if (event.visibility !== 'SPACE' || event.withdrawn || event.actorId == null) return NONE;
  return notifyMentioned(tx, event, { type: event.subjectType, id: event.subjectId }, event.actorId);
};

/**
 * On MODERATION_ACTION: content automod held is published when a moderator approves it (APPROVE),
 * and only then are its mentions told, from its author.
 */
export const approvedMentionsProducer: Producer = async (tx, event) => {
  if (event.subjectType !== 'ModerationAction') return NONE;
  const action = await tx.moderationAction.findUnique({
    where: { id: event.subjectId },
    select: { kind: true, subjectType: true, subjectId: true, targetUserId: true },
  });
  if (action?.kind !== 'APPROVE') return NONE;
  return notifyMentioned(tx, event, { type: action.subjectType, id: action.subjectId }, action.targetUserId);
};
