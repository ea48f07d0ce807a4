-- A random public reference for each case (what requesters quote), and the priority the
-- requester asked for (what they see, whatever routing or escalation set).
ALTER TABLE "SupportCase" ADD COLUMN     "reference" TEXT,
ADD COLUMN     "requestedPriority" "CasePriority" NOT NULL DEFAULT 'NORMAL';

-- Existing cases: 12 random characters of the same alphabet (hex is a subset of Crockford's
-- base32), grouped like new ones: "7F3A-09C1-B2E4".
UPDATE "SupportCase" SET "reference" = regexp_replace(upper(substr(md5(random()::text || "id"::text || clock_timestamp()::text), 1, 12)), '^(.{4})(.{4})(.{4})$', '\1-\2-\3');
ALTER TABLE "SupportCase" ALTER COLUMN "reference" SET NOT NULL;

-- The asked-for priority is the current one unless a routing rule set it or someone escalated;
-- where either happened it is unknown, and NORMAL tells the requester nothing.
UPDATE "SupportCase" c SET "requestedPriority" = c."priority"
WHERE NOT EXISTS (SELECT 1 FROM "RoutingRule" r WHERE r."id" = c."routingRuleId" AND r."priority" IS NOT NULL)
  AND NOT EXISTS (SELECT 1 FROM "CaseEvent" e WHERE e."caseId" = c."id" AND e."kind" = 'ESCALATED');

-- Memberships left by a demotion before it ended them (a membership counts only while the role
-- can join departments), and the cases those people still held: back to their departments.
DELETE FROM "DepartmentMember" m USING "User" u WHERE m."userId" = u."id" AND u."role" IN ('MEMBER', 'MODERATOR');
UPDATE "SupportCase" c SET "assigneeId" = NULL, "assignedAt" = NULL
WHERE c."assigneeId" IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM "DepartmentMember" m WHERE m."departmentId" = c."departmentId" AND m."userId" = c."assigneeId");

-- CreateIndex
CREATE UNIQUE INDEX "SupportCase_reference_key" ON "SupportCase"("reference");

-- The events of a removed or held thread are for moderators only, until it is restored.
ALTER TABLE "Activity" ADD COLUMN     "threadWithdrawn" BOOLEAN NOT NULL DEFAULT false;
UPDATE "Activity" a SET "threadWithdrawn" = true
FROM "Thread" t WHERE a."threadId" = t."id" AND t."moderationStatus" IN ('REMOVED', 'HELD');
