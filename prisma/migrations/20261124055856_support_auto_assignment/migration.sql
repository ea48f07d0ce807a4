-- AlterTable
ALTER TABLE "Department" ADD COLUMN     "autoAssign" BOOLEAN NOT NULL DEFAULT false;

-- AlterTable
ALTER TABLE "DepartmentMember" ADD COLUMN     "lastAssignedAt" TIMESTAMP(3),
ADD COLUMN     "onDuty" BOOLEAN NOT NULL DEFAULT false;
