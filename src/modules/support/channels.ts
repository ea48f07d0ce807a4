import { z } from 'zod';
import type { Viewer } from '../../context.js';
import type { Tx } from '../../db/client.js';
import { writeWithActivity } from '../../events/activity.js';
import { ConflictError, NotFoundError } from '../../errors.js';
import type { SupportChannel } from '../../generated/prisma/client.js';
import type { SupportChannelKind } from '../../generated/prisma/enums.js';
import { parseInput, withoutNulls } from '../../validation.js';
import { requireManager } from '../identity/guards.js';
import { SUPPORT_SETUP } from './policy.js';
import { name } from './departments.js';
import { PRIORITIES } from './priorities.js';
import type { SlaTarget } from './sla.js';

// Support channels: where requests arrive, each with its SLA policy.

const minutes = z.number().int('must be a whole number of minutes').min(1, 'must be at least 1').max(525_600, 'must be at most 525600 (a year)');
const slaPolicy = z
  .array(
    z.object({
      priority: z.enum(PRIORITIES),
      firstResponseMinutes: minutes,
      nextResponseMinutes: minutes,
      periodicUpdateMinutes: minutes,
      resolutionMinutes: minutes,
    }),
  )
  .superRefine((targets, ctx) => {
    targets.forEach((target, i) => {
      if (targets.findIndex((other) => other.priority === target.priority) !== i) {
        ctx.addIssue({ code: 'custom', path: [i, 'priority'], message: `${target.priority} is listed twice` });
      }
    });
  })
  .transform((targets) => targets.sort((a, b) => PRIORITIES.indexOf(a.priority) - PRIORITIES.indexOf(b.priority)));

const channelFields = {
  name,
  kind: z.enum(['FORUM', 'EMAIL', 'CHAT', 'SOCIAL', 'WEB_FORM', 'PHONE']),
  defaultDepartmentId: z.number().int(),
  spaceId: z.number().int().nullable(),
  active: z.boolean(),
  slaPolicy,
};
const createChannelInput = z.object({
  ...channelFields,
  spaceId: channelFields.spaceId.default(null),
  active: channelFields.active.default(true),
  slaPolicy: slaPolicy.default([]),
});
const updateChannelInput = z.object({
  name: name.optional(),
  kind: channelFields.kind.optional(),
  defaultDepartmentId: channelFields.defaultDepartmentId.optional(),
  spaceId: channelFields.spaceId.optional(),
  active: channelFields.active.optional(),
  slaPolicy: slaPolicy.optional(),
});

type ChannelInput = {
  name: string;
  kind: SupportChannelKind;
  defaultDepartmentId: number;
  /** null unlinks the space (on update); undefined keeps it. */
  spaceId?: number | null;
  active?: boolean | null;
  slaPolicy?: SlaTarget[] | null;
};

export async function createSupportChannel(viewer: Viewer | null, input: ChannelInput): Promise<SupportChannel> {
  const actor = requireManager(viewer, SUPPORT_SETUP);
  const { spaceId, ...rest } = input;
  const data = parseInput(createChannelInput, { ...withoutNulls(rest), spaceId: spaceId ?? null });
  return writeWithActivity(async (tx, activity) => {
    await assertChannelReferences(tx, data);
    await assertChannelNameFree(tx, data.name);
    const channel = await tx.supportChannel.create({ data });
    await activity.record({ kind: 'SUPPORT_CHANNEL_CREATED', actorId: actor.id, subject: { type: 'SupportChannel', id: channel.id }, visibility: 'STAFF' });
    return channel;
  });
}

export async function updateSupportChannel(
  viewer: Viewer | null,
  channelId: number,
  input: Partial<{ [K in keyof ChannelInput]: ChannelInput[K] | null }>,
): Promise<SupportChannel> {
  const actor = requireManager(viewer, SUPPORT_SETUP);
  const { spaceId, ...rest } = input;
  const data = parseInput(updateChannelInput, { ...withoutNulls(rest), ...(spaceId !== undefined && { spaceId }) });
  return writeWithActivity(async (tx, activity) => {
    const existing = await tx.supportChannel.findUnique({ where: { id: channelId } });
    if (!existing) throw new NotFoundError('SupportChannel', String(channelId));
    await assertChannelReferences(tx, data);
    if (data.name && data.name !== existing.name) await assertChannelNameFree(tx, data.name);
    const channel = await tx.supportChannel.update({ where: { id: channelId }, data });
    await activity.record({ kind: 'SUPPORT_CHANNEL_UPDATED', actorId: actor.id, subject: { type: 'SupportChannel', id: channel.id }, visibility: 'STAFF' });
    return channel;
  });
}

async function assertChannelReferences(tx: Tx, data: { defaultDepartmentId?: number; spaceId?: number | null }): Promise<void> {
  if (data.defaultDepartmentId !== undefined && !(await tx.department.findUnique({ where: { id: data.defaultDepartmentId }, select: { id: true } }))) {
    throw new NotFoundError('Department', String(data.defaultDepartmentId));
  }
  if (data.spaceId != null && !(await tx.space.findUnique({ where: { id: data.spaceId }, select: { id: true } }))) {
    throw new NotFoundError('Space', String(data.spaceId));
  }
}

async function assertChannelNameFree(tx: Tx, channelName: string): Promise<void> {
  if (await tx.supportChannel.findUnique({ where: { name: channelName }, select: { id: true } })) {
    throw new ConflictError(`A support channel named "${channelName}" already exists`);
  }
}
