import { z } from 'zod';
import type { Viewer } from '../../context.js';
import { prisma } from '../../db/client.js';
import { writeWithActivity } from '../../events/activity.js';
import { Prisma } from '../../generated/prisma/client.js';
import { parseInput } from '../../validation.js';
import { requireManager, requireStaff } from '../identity/guards.js';

// Reputation: points from what others recognised in a member's work, under weights that
// COMMUNITY_MANAGER and ADMIN set (one ReputationRules row; a missing row means the defaults):
//
//   reputation = max(0, acceptedAnswers x acceptedAnswer (15) + reactionsReceived x reactionReceived (1)
//                       + reportsConfirmed x reportConfirmed (2) + firstRepliesToNewcomers x firstReplyToNewcomer (2)
//                       + moderationActions x moderationAction (-5))
//
// over the member's all-time signals (MemberStats). Each MemberStats row says under which rules
// version it was computed. The signals job computes it with the rules of the moment, so new events
// are always right; a change of rules bumps the version and recomputes the older rows in batches of
// RECOMPUTE_BATCH by user id, each batch one short statement (no long lock that would block
// writes), and the job finishes any batch left behind (a crash, an instance stopping).

export type ReputationRules = {
  version: number;
  acceptedAnswer: number;
  reactionReceived: number;
  reportConfirmed: number;
  firstReplyToNewcomer: number;
  moderationAction: number;
  updatedAt: Date | null;
  updatedById: number | null;
};

export const DEFAULT_RULES = { acceptedAnswer: 15, reactionReceived: 1, reportConfirmed: 2, firstReplyToNewcomer: 2, moderationAction: -5 };
const RECOMPUTE_BATCH = 1000;

/** The rules as one row `r` (defaults when the row is missing), for a FROM clause. */
export const RULES_FROM = Prisma.sql`(
  SELECT COALESCE(x."version", 1) AS "version",
         COALESCE(x."acceptedAnswer", ${DEFAULT_RULES.acceptedAnswer}::int) AS "acceptedAnswer",
         COALESCE(x."reactionReceived", ${DEFAULT_RULES.reactionReceived}::int) AS "reactionReceived",
         COALESCE(x."reportConfirmed", ${DEFAULT_RULES.reportConfirmed}::int) AS "reportConfirmed",
         COALESCE(x."firstReplyToNewcomer", ${DEFAULT_RULES.firstReplyToNewcomer}::int) AS "firstReplyToNewcomer",
         COALESCE(x."moderationAction", ${DEFAULT_RULES.moderationAction}::int) AS "moderationAction"
  FROM (VALUES (1)) AS one("id") LEFT JOIN "ReputationRules" x ON x."id" = one."id") r`;

/** The reputation of totals held in columns of `alias` under the rules `r`. */
export function reputationOf(alias: string | ((name: string) => Prisma.Sql)): Prisma.Sql {
  const c = typeof alias === 'function' ? alias : (name: string) => Prisma.raw(`${alias}."${name}"`);
  return Prisma.sql`GREATEST(0, ${c('acceptedAnswers')} * r."acceptedAnswer" + ${c('reactionsReceived')} * r."reactionReceived"
    + ${c('reportsConfirmed')} * r."reportConfirmed" + ${c('firstRepliesToNewcomers')} * r."firstReplyToNewcomer"
    + ${c('moderationActions')} * r."moderationAction")::int`;
}

async function currentRules(): Promise<ReputationRules> {
  const row = await prisma().reputationRules.findUnique({ where: { id: 1 } });
  return row ?? { version: 1, ...DEFAULT_RULES, updatedAt: null, updatedById: null };
}

export async function reputationRules(viewer: Viewer | null): Promise<ReputationRules> {
  requireStaff(viewer, 'read the reputation rules');
  return currentRules();
}

const weight = z.number().int().min(-1000).max(1000);
const rulesInput = z
  .object({
    acceptedAnswer: weight.optional(),
    reactionReceived: weight.optional(),
    reportConfirmed: weight.optional(),
    firstReplyToNewcomer: weight.optional(),
    moderationAction: weight.optional(),
  })
  .refine((input) => Object.values(input).some((value) => value !== undefined), { message: 'give at least one weight to change' });

export type ReputationRulesInput = z.input<typeof rulesInput>;

/**
 * Sets some weights (the others stay), bumps the version, records REPUTATION_RULES_CHANGED; once
 * committed, recomputes every member's reputation in batches. Answers with the new rules.
 */
export async function updateReputationRules(viewer: Viewer | null, input: ReputationRulesInput): Promise<ReputationRules> {
  const actor = requireManager(viewer, 'change the reputation rules');
  const data = parseInput(rulesInput, input);
  const changes = Object.fromEntries(Object.entries(data).filter(([, value]) => value !== undefined));
  const rules = await writeWithActivity(async (tx, activity) => {
    // The row is created if missing, then locked: two changes at once get two versions.
    await tx.$executeRaw`INSERT INTO "ReputationRules" ("id") VALUES (1) ON CONFLICT ("id") DO NOTHING`;
    await tx.$queryRaw`SELECT 1 FROM "ReputationRules" WHERE "id" = 1 FOR UPDATE`;
    const updated = await tx.reputationRules.update({
      where: { id: 1 },
      data: { ...changes, version: { increment: 1 }, updatedAt: new Date(), updatedById: actor.id },
    });
    await activity.record({ kind: 'REPUTATION_RULES_CHANGED', actorId: actor.id, subject: { type: 'User', id: actor.id }, visibility: 'STAFF' });
    return updated;
  });
  await recomputeReputation();
  return rules;
}

/**
 * Recomputes, batch after batch, the reputation of members computed under older rules; returns
 * how many were done. Each batch is one statement over at most RECOMPUTE_BATCH rows.
 */
export async function recomputeReputation(maxBatches = Number.POSITIVE_INFINITY): Promise<number> {
  let done = 0;
  for (let batch = 0; batch < maxBatches; batch++) {
    const count = await prisma().$executeRaw`
      UPDATE "MemberStats" s SET "reputation" = ${reputationOf('s')}, "rulesVersion" = r."version"
      FROM ${RULES_FROM}
      WHERE s."rulesVersion" < r."version" AND s."userId" IN (
        SELECT m."userId" FROM "MemberStats" m, ${RULES_FROM}
        WHERE m."rulesVersion" < r."version" ORDER BY m."rulesVersion", m."userId" LIMIT ${RECOMPUTE_BATCH})`;
    done += count;
    if (count < RECOMPUTE_BATCH) return done;
  }
  return done;
}
