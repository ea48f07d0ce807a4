-- CreateTable
CREATE TABLE "MemberActivityDay" (
    "userId" INTEGER NOT NULL,
    "spaceId" INTEGER NOT NULL,
    "day" DATE NOT NULL,
    "threads" INTEGER NOT NULL DEFAULT 0,
    "replies" INTEGER NOT NULL DEFAULT 0,
    "repliesRead" INTEGER NOT NULL DEFAULT 0,
    "reactionsGiven" INTEGER NOT NULL DEFAULT 0,
    "reactionsReceived" INTEGER NOT NULL DEFAULT 0,
    "acceptedAnswers" INTEGER NOT NULL DEFAULT 0,
    "firstRepliesToNewcomers" INTEGER NOT NULL DEFAULT 0,
    "reportsConfirmed" INTEGER NOT NULL DEFAULT 0,
    "moderationActions" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "MemberActivityDay_pkey" PRIMARY KEY ("userId","spaceId","day")
);

-- CreateTable
CREATE TABLE "MemberStats" (
    "userId" INTEGER NOT NULL,
    "daysActive" INTEGER NOT NULL DEFAULT 0,
    "lastActiveOn" DATE,
    "threads" INTEGER NOT NULL DEFAULT 0,
    "replies" INTEGER NOT NULL DEFAULT 0,
    "repliesRead" INTEGER NOT NULL DEFAULT 0,
    "reactionsGiven" INTEGER NOT NULL DEFAULT 0,
    "reactionsReceived" INTEGER NOT NULL DEFAULT 0,
    "acceptedAnswers" INTEGER NOT NULL DEFAULT 0,
    "firstRepliesToNewcomers" INTEGER NOT NULL DEFAULT 0,
    "reportsConfirmed" INTEGER NOT NULL DEFAULT 0,
    "moderationActions" INTEGER NOT NULL DEFAULT 0,
    "reputation" INTEGER NOT NULL DEFAULT 0,
    "rulesVersion" INTEGER NOT NULL DEFAULT 0,
    "score" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "updatedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "MemberStats_pkey" PRIMARY KEY ("userId")
);

-- CreateTable
CREATE TABLE "SignalCursor" (
    "id" INTEGER NOT NULL DEFAULT 1,
    "activityId" BIGINT NOT NULL,

    CONSTRAINT "SignalCursor_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "SignalAnswer" (
    "threadId" INTEGER NOT NULL,
    "postId" INTEGER NOT NULL,
    "userId" INTEGER NOT NULL,
    "spaceId" INTEGER NOT NULL,
    "day" DATE NOT NULL,

    CONSTRAINT "SignalAnswer_pkey" PRIMARY KEY ("threadId")
);

-- CreateTable
CREATE TABLE "SignalDirtyUser" (
    "userId" INTEGER NOT NULL,

    CONSTRAINT "SignalDirtyUser_pkey" PRIMARY KEY ("userId")
);

-- CreateIndex
CREATE INDEX "MemberActivityDay_spaceId_day_idx" ON "MemberActivityDay"("spaceId", "day");

-- CreateIndex
CREATE INDEX "MemberStats_reputation_userId_idx" ON "MemberStats"("reputation" DESC, "userId");

-- CreateIndex
CREATE INDEX "MemberStats_score_userId_idx" ON "MemberStats"("score" DESC, "userId");
