-- CreateEnum
CREATE TYPE "CasePriority" AS ENUM ('LOW', 'NORMAL', 'HIGH', 'URGENT');

-- CreateEnum
CREATE TYPE "SupportChannelKind" AS ENUM ('FORUM', 'EMAIL', 'CHAT', 'SOCIAL', 'WEB_FORM', 'PHONE');

-- AlterEnum
-- This migration adds more than one value to an enum.
-- With PostgreSQL versions 11 and earlier, this is not possible
-- in a single migration. This can be worked around by creating
-- multiple migrations, each migration adding only one value to
-- the enum.


ALTER TYPE "ActivityKind" ADD VALUE 'DEPARTMENT_CREATED';
ALTER TYPE "ActivityKind" ADD VALUE 'DEPARTMENT_UPDATED';
ALTER TYPE "ActivityKind" ADD VALUE 'DEPARTMENT_MEMBER_ADDED';
ALTER TYPE "ActivityKind" ADD VALUE 'DEPARTMENT_MEMBER_REMOVED';
ALTER TYPE "ActivityKind" ADD VALUE 'SUPPORT_CHANNEL_CREATED';
ALTER TYPE "ActivityKind" ADD VALUE 'SUPPORT_CHANNEL_UPDATED';

-- CreateTable
CREATE TABLE "Department" (
    "id" SERIAL NOT NULL,
    "name" TEXT NOT NULL,
    "timeZone" TEXT NOT NULL,
    "weeklyHours" JSONB NOT NULL,
    "holidays" TEXT[],
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "Department_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "DepartmentMember" (
    "departmentId" INTEGER NOT NULL,
    "userId" INTEGER NOT NULL,
    "lead" BOOLEAN NOT NULL DEFAULT false,
    "addedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "DepartmentMember_pkey" PRIMARY KEY ("departmentId","userId")
);

-- CreateTable
CREATE TABLE "SupportChannel" (
    "id" SERIAL NOT NULL,
    "name" TEXT NOT NULL,
    "kind" "SupportChannelKind" NOT NULL,
    "defaultDepartmentId" INTEGER NOT NULL,
    "spaceId" INTEGER,
    "active" BOOLEAN NOT NULL DEFAULT true,
    "slaPolicy" JSONB NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "SupportChannel_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "Department_name_key" ON "Department"("name");

-- CreateIndex
CREATE INDEX "DepartmentMember_userId_idx" ON "DepartmentMember"("userId");

-- CreateIndex
CREATE UNIQUE INDEX "SupportChannel_name_key" ON "SupportChannel"("name");

-- CreateIndex
CREATE INDEX "SupportChannel_defaultDepartmentId_idx" ON "SupportChannel"("defaultDepartmentId");

-- AddForeignKey
ALTER TABLE "DepartmentMember" ADD CONSTRAINT "DepartmentMember_departmentId_fkey" FOREIGN KEY ("departmentId") REFERENCES "Department"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "DepartmentMember" ADD CONSTRAINT "DepartmentMember_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "SupportChannel" ADD CONSTRAINT "SupportChannel_defaultDepartmentId_fkey" FOREIGN KEY ("defaultDepartmentId") REFERENCES "Department"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "SupportChannel" ADD CONSTRAINT "SupportChannel_spaceId_fkey" FOREIGN KEY ("spaceId") REFERENCES "Space"("id") ON DELETE SET NULL ON UPDATE CASCADE;
