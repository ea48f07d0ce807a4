-- CreateEnum
CREATE TYPE "Locale" AS ENUM ('ES', 'EN');

-- AlterEnum
-- This migration adds more than one value to an enum.
-- With PostgreSQL versions 11 and earlier, this is not possible
-- in a single migration. This can be worked around by creating
-- multiple migrations, each migration adding only one value to
-- the enum.


ALTER TYPE "ActivityKind" ADD VALUE 'THREAD_DELETED';
ALTER TYPE "ActivityKind" ADD VALUE 'POST_DELETED';
ALTER TYPE "ActivityKind" ADD VALUE 'THREAD_ANSWER_UNMARKED';
ALTER TYPE "ActivityKind" ADD VALUE 'USER_PROFILE_UPDATED';

-- AlterTable
ALTER TABLE "Post" ADD COLUMN     "deletedAt" TIMESTAMP(3),
ADD COLUMN     "deletedById" INTEGER;

-- AlterTable
ALTER TABLE "Thread" ADD COLUMN     "deletedAt" TIMESTAMP(3),
ADD COLUMN     "deletedById" INTEGER;

-- AlterTable
ALTER TABLE "User" ADD COLUMN     "avatarUrl" TEXT,
ADD COLUMN     "bio" TEXT NOT NULL DEFAULT '',
ADD COLUMN     "handle" TEXT COLLATE "C",
ADD COLUMN     "handleChangedAt" TIMESTAMP(3),
ADD COLUMN     "lastSeenAt" TIMESTAMP(3),
ADD COLUMN     "locale" "Locale" NOT NULL DEFAULT 'EN',
ADD COLUMN     "nameKey" TEXT COLLATE "C" NOT NULL DEFAULT '',
ADD COLUMN     "timeZone" TEXT NOT NULL DEFAULT 'UTC';

-- Existing accounts get a handle derived from their display name, as members.handles does for
-- new ones (accents folded, other characters to "_", at most 26 characters, reserved names and
-- handles already given skipped, then a number suffix), and the folded name the directory
-- searches by prefix.
DO $$
DECLARE
  r RECORD;
  folded TEXT;
  base TEXT;
  candidate TEXT;
  n INT;
BEGIN
  FOR r IN SELECT "id", "displayName" FROM "User" ORDER BY "id" LOOP
    folded := lower(translate(r."displayName", 'ÁÀÂÄÃÅáàâäãåÉÈÊËéèêëÍÌÎÏíìîïÓÒÔÖÕóòôöõÚÙÛÜúùûüÑñÇçÝýÿ', 'AAAAAAaaaaaaEEEEeeeeIIIIiiiiOOOOOoooooUUUUuuuuNnCcYyy'));
    base := rtrim(left(trim(both '_' from regexp_replace(folded, '[^a-z0-9]+', '_', 'g')), 26), '_');
    IF base = '' THEN base := 'user'; END IF;
    n := 1;
    LOOP
      candidate := CASE WHEN n = 1 AND length(base) >= 3 THEN base ELSE base || n END;
      EXIT WHEN candidate NOT IN ('admin', 'administrator', 'moderator', 'mod', 'staff', 'support', 'system', 'tertulia', 'all', 'everyone', 'here', 'channel', 'null', 'undefined', 'root', 'me', 'you')
        AND NOT EXISTS (SELECT 1 FROM "User" WHERE "handle" = candidate);
      n := n + 1;
    END LOOP;
    UPDATE "User" SET "handle" = candidate, "nameKey" = folded WHERE "id" = r."id";
  END LOOP;
END $$;

ALTER TABLE "User" ALTER COLUMN "handle" SET NOT NULL;

-- CreateTable
CREATE TABLE "HandleHistory" (
    "handle" TEXT NOT NULL,
    "userId" INTEGER NOT NULL,
    "releasedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "HandleHistory_pkey" PRIMARY KEY ("handle")
);

-- CreateIndex
CREATE INDEX "HandleHistory_userId_idx" ON "HandleHistory"("userId");

-- CreateIndex
CREATE UNIQUE INDEX "User_handle_key" ON "User"("handle");

-- CreateIndex
CREATE INDEX "User_nameKey_idx" ON "User"("nameKey");

-- CreateIndex
CREATE INDEX "User_createdAt_idx" ON "User"("createdAt");

-- CreateIndex
CREATE INDEX "User_lastSeenAt_idx" ON "User"("lastSeenAt");

-- AddForeignKey
ALTER TABLE "Thread" ADD CONSTRAINT "Thread_deletedById_fkey" FOREIGN KEY ("deletedById") REFERENCES "User"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Post" ADD CONSTRAINT "Post_deletedById_fkey" FOREIGN KEY ("deletedById") REFERENCES "User"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "HandleHistory" ADD CONSTRAINT "HandleHistory_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;
