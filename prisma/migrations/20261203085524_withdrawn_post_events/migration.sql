-- The events of a removed or held thread, and now those about a removed or held post, are for
-- moderators only until that content is restored: one flag for both, kept as it was for threads.
ALTER TABLE "Activity" RENAME COLUMN "threadWithdrawn" TO "withdrawn";
UPDATE "Activity" a SET "withdrawn" = true
FROM "Post" p WHERE a."subjectType" = 'Post' AND a."subjectId" = p."id" AND a."threadId" = p."threadId"
  AND p."moderationStatus" IN ('REMOVED', 'HELD');
