import { RE2JS } from 're2js';
import type { Viewer } from '../../context.js';
import { prisma, type Tx } from '../../db/client.js';
import type { ActivityRecorder } from '../../events/activity.js';
import { AutomodBlockedError, ValidationError } from '../../errors.js';
import type { AutomodRule } from '../../generated/prisma/client.js';
import type { AutomodAction } from '../../generated/prisma/enums.js';
import { foldedWords } from '../../text.js';
import { openQueueItemForAutomod } from './enqueue.js';

// The auto-moderation rule engine. Community's writes call `screenContent` inside their
// transaction before writing, and `recordScreening` once the content exists.

const MAX_PATTERN_LENGTH = 500;

/**
 * Compiles a PATTERN with RE2 (linear-time matching, no backtracking, so no catastrophic
 * patterns), case-insensitive; a bad pattern is a ValidationError on `path`.
 */
export function compilePattern(pattern: string, path = 'input.pattern'): RE2JS {
  if (pattern.length === 0 || pattern.length > MAX_PATTERN_LENGTH) {
    throw ValidationError.field(path, `must be 1 to ${MAX_PATTERN_LENGTH} characters`);
  }
  try {
    // Parsed once without flags so an error quotes the pattern as written.
    RE2JS.compile(pattern);
  } catch (error) {
    throw ValidationError.field(path, `is not a valid regular expression: ${(error as Error).message}`);
  }
  return RE2JS.compile(pattern, RE2JS.CASE_INSENSITIVE);
}

const compiled = new Map<string, RE2JS>();
function cachedPattern(pattern: string): RE2JS {
  let regex = compiled.get(pattern);
  if (!regex) {
    regex = compilePattern(pattern);
    if (compiled.size > 1000) compiled.clear();
    compiled.set(pattern, regex);
  }
  return regex;
}

const LINK = /\bhttps?:\/\/[^\s<>"]+|\bwww\.[^\s<>"]+/i;
const MENTION = /(?:^|[^\p{L}\p{N}_@])@[\p{L}\p{N}_][\p{L}\p{N}_.-]*/gu;

type RuleHit = { ruleId: number; ruleName: string; action: AutomodAction; matched: string };

type Screening = {
  /** What happens to the content: BLOCK never gets here (it throws). */
  outcome: 'PASS' | 'FLAG' | 'HOLD';
  hits: RuleHit[];
  writerId: number;
};

const STRENGTH: Record<AutomodAction, number> = { FLAG: 1, HOLD: 2, BLOCK: 3 };

/**
 * Runs every enabled rule that applies to this writer and space over `text`. Every match is
 * a hit; the strongest action wins. BLOCK throws AutomodBlockedError naming the rule (and the
 * hits, which `recordingBlocks` records once the write has rolled back).
 */
export async function screenContent(
  tx: Tx,
  input: { writer: Viewer; spaceId: number; text: string; isNew: boolean },
): Promise<Screening> {
  const rules = (await tx.automodRule.findMany({ where: { enabled: true }, orderBy: { id: 'asc' } })).filter(
    (rule) => !rule.exemptRoles.includes(input.writer.role) && !rule.exemptSpaceIds.includes(input.spaceId),
  );
  const hits: RuleHit[] = [];
  const stats = lazy(() => writerStats(tx, input.writer.id, rules));
  for (const rule of rules) {
    const matched = await match(rule, input, stats);
    if (matched !== null) hits.push({ ruleId: rule.id, ruleName: rule.name, action: rule.action, matched });
  }
  const strongest = hits.reduce<RuleHit | undefined>((best, hit) => (!best || STRENGTH[hit.action] > STRENGTH[best.action] ? hit : best), undefined);
  if (strongest?.action === 'BLOCK') {
    throw new AutomodBlockedError(strongest.ruleName, hits.map((hit) => ({ ...hit, userId: input.writer.id, spaceId: input.spaceId })));
  }
  return { outcome: strongest ? strongest.action as 'FLAG' | 'HOLD' : 'PASS', hits, writerId: input.writer.id };
}

type WriterStats = { accountAgeDays: number; totalPosts: number; recentPosts: Map<number, number>; trustLevel: number };

async function match(
  rule: AutomodRule,
  input: { text: string; isNew: boolean },
  stats: () => Promise<WriterStats>,
): Promise<string | null> {
  switch (rule.trigger) {
    case 'KEYWORD': {
      // Whole words (or word sequences), compared without case or accents.
      const text = ` ${foldedWords(input.text).join(' ')} `;
      return rule.keywords.find((keyword) => text.includes(` ${keyword} `)) ?? null;
    }
    case 'PATTERN': {
      const matcher = cachedPattern(rule.pattern!).matcher(input.text);
      return matcher.find() ? matcher.group(0) : null;
    }
    case 'LINK': {
      const link = LINK.exec(input.text)?.[0];
      if (!link) return null;
      const { accountAgeDays, totalPosts, trustLevel } = await stats();
      // belowTrustLevel narrows the rule to writers below that level (trust levels, participation).
      if (rule.belowTrustLevel != null && trustLevel >= rule.belowTrustLevel) return null;
      if (rule.minAccountAgeDays == null && rule.minPosts == null) return link;
      const young = rule.minAccountAgeDays != null && accountAgeDays < rule.minAccountAgeDays;
      const fewPosts = rule.minPosts != null && totalPosts < rule.minPosts;
      return young || fewPosts ? link : null;
    }
    case 'MENTION_SPAM': {
      const mentions = input.text.match(MENTION) ?? [];
      if (mentions.length <= rule.maxMentions!) return null;
      if (rule.belowTrustLevel != null && (await stats()).trustLevel >= rule.belowTrustLevel) return null;
      return `${mentions.length} mentions`;
    }
    case 'RATE': {
      if (!input.isNew) return null;
      // This write would be one more within the window.
      const count = ((await stats()).recentPosts.get(rule.windowMinutes!) ?? 0) + 1;
      return count > rule.maxPosts! ? `${count} posts in ${rule.windowMinutes} minutes` : null;
    }
  }
}

/** Account age, threads + posts written, how many in each RATE rule's window and the trust level: one statement. */
async function writerStats(tx: Tx, userId: number, rules: AutomodRule[]): Promise<WriterStats> {
  const windows = [...new Set(rules.filter((r) => r.trigger === 'RATE').map((r) => r.windowMinutes!))];
  const [row] = await tx.$queryRaw<{ createdAt: Date; total: number; recent: number[]; trustLevel: number }[]>`
    WITH written AS (
      SELECT "createdAt" FROM "Thread" WHERE "authorId" = ${userId}
      UNION ALL SELECT "createdAt" FROM "Post" WHERE "authorId" = ${userId}
    )
    SELECT u."createdAt",
           (SELECT count(*)::int FROM written) AS total,
           ARRAY(SELECT (SELECT count(*)::int FROM written WHERE "createdAt" > now() - make_interval(mins => w))
                 FROM unnest(${windows}::int[]) WITH ORDINALITY AS x(w, i) ORDER BY i) AS recent,
           COALESCE((SELECT "level" FROM "MemberTrust" WHERE "userId" = u.id), 0)::int AS "trustLevel"
    FROM "User" u WHERE u.id = ${userId}`;
  return {
    accountAgeDays: (Date.now() - row.createdAt.getTime()) / 86_400_000,
    totalPosts: row.total,
    recentPosts: new Map(windows.map((w, i) => [w, row.recent[i]])),
    trustLevel: row.trustLevel,
  };
}

function lazy<T>(make: () => Promise<T>): () => Promise<T> {
  let value: Promise<T> | undefined;
  return () => (value ??= make());
}

/**
 * Once the content is written: records the hits, and for FLAG or HOLD puts it in the
 * moderation queue (a held item waits there for a moderator to approve it).
 */
export async function recordScreening(
  tx: Tx,
  activity: ActivityRecorder,
  screening: Screening,
  subject: { typename: 'Thread' | 'Post'; id: number; spaceId: number; threadId: number; authorId: number },
): Promise<void> {
  if (screening.hits.length === 0) return;
  await tx.automodHit.createMany({
    data: screening.hits.map((hit) => ({
      ruleId: hit.ruleId,
      ruleName: hit.ruleName,
      action: hit.action,
      userId: screening.writerId,
      subjectType: subject.typename,
      subjectId: subject.id,
      spaceId: subject.spaceId,
      matched: hit.matched.slice(0, 200),
    })),
  });
  if (screening.outcome === 'PASS') return;
  const deciding = screening.hits.find((hit) => hit.action === screening.outcome)!;
  await openQueueItemForAutomod(tx, activity, { ...subject, ruleId: deciding.ruleId });
}

/**
 * Runs a community write; when automod blocks it (the transaction rolled back, nothing was
 * written), the hits are still recorded, in a write of their own.
 */
export async function recordingBlocks<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (error instanceof AutomodBlockedError && error.hits.length) {
      const hits = error.hits as (RuleHit & { userId: number; spaceId: number })[];
      await prisma().automodHit.createMany({
        data: hits.map((hit) => ({
          ruleId: hit.ruleId,
          ruleName: hit.ruleName,
          action: hit.action,
          userId: hit.userId,
          spaceId: hit.spaceId,
          matched: hit.matched.slice(0, 200),
        })),
      });
    }
    throw error;
  }
}
