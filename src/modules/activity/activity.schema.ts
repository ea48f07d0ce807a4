import { brandWithType } from '@pothos/core';
import { builder } from '../../builder.js';
import { prisma } from '../../db/client.js';
import { subscribeActivity, type ActivityMessage } from '../../events/bus.js';
import { ActivityKind } from '../../generated/prisma/enums.js';
import { decodeId } from '../../ids.js';
import { PostType, SpaceType, ThreadType } from '../community/community.schema.js';
import { UserType } from '../identity/identity.schema.js';
import { canReceive, matchesFilter, type ActivityFilter } from './activity.service.js';

const SUBJECT_TYPES = { Thread: ThreadType, Post: PostType, Space: SpaceType, User: UserType };

const ActivityKindEnum = builder.enumType(ActivityKind, { name: 'ActivityKind' });

const ActivityEventType = builder.objectRef<ActivityMessage>('ActivityEvent').implement({
  description: 'Something that happened, as written to the activity log.',
  fields: (t) => ({
    id: t.id({
      description: 'Opaque and ordered: a later event has a greater id.',
      resolve: (event) => Buffer.from(`activity:${event.id}`).toString('base64url'),
    }),
    kind: t.field({ type: ActivityKindEnum, resolve: (event) => event.kind }),
    occurredAt: t.field({ type: 'DateTime', resolve: (event) => new Date(event.occurredAt) }),
    actor: t.field({
      type: UserType,
      nullable: true,
      resolve: (event) => (event.actorId == null ? null : prisma().user.findUnique({ where: { id: event.actorId } })),
    }),
    space: t.field({
      type: SpaceType,
      nullable: true,
      resolve: (event) => (event.spaceId == null ? null : prisma().space.findUnique({ where: { id: event.spaceId } })),
    }),
    thread: t.field({
      type: ThreadType,
      nullable: true,
      resolve: (event) => (event.threadId == null ? null : prisma().thread.findUnique({ where: { id: event.threadId } })),
    }),
    subject: t.field({
      type: builder.nodeInterfaceRef(),
      nullable: true,
      description: 'What the event is about (a Thread, Post, Space or User); null if it no longer exists.',
      resolve: async (event) => {
        const record = await loadSubject(event);
        if (record) brandWithType(record, SUBJECT_TYPES[event.subjectType as keyof typeof SUBJECT_TYPES]);
        return record;
      },
    }),
  }),
});

// Prisma batches findUnique calls made in the same tick, so a fan-out to many subscribers
// resolves each subject with one statement.
function loadSubject(event: ActivityMessage): Promise<object | null> {
  const where = { where: { id: event.subjectId } };
  switch (event.subjectType) {
    case 'Thread':
      return prisma().thread.findUnique(where);
    case 'Post':
      return prisma().post.findUnique(where);
    case 'Space':
      return prisma().space.findUnique(where);
    case 'User':
      return prisma().user.findUnique(where);
    default:
      return Promise.resolve(null);
  }
}

const ActivityFilterInput = builder.inputType('ActivityFilter', {
  fields: (t) => ({
    kinds: t.field({ type: [ActivityKindEnum], description: 'Only these kinds; all when omitted.' }),
    spaceIds: t.idList({ description: 'Only events in these spaces.' }),
    threadId: t.id({ description: 'Only events about this thread and its posts.' }),
  }),
});

builder.subscriptionField('activity', (t) =>
  t.field({
    type: ActivityEventType,
    description: 'Live activity you are allowed to see, filtered. Over graphql-ws or SSE.',
    args: { filter: t.arg({ type: ActivityFilterInput }) },
    subscribe: (_root, args, ctx) => {
      const wanted: ActivityFilter = {
        kinds: args.filter?.kinds ?? undefined,
        spaceIds: args.filter?.spaceIds?.map((id, i) => decodeId(id, ['Space'], `filter.spaceIds.${i}`).id),
        threadId: args.filter?.threadId ? decodeId(args.filter.threadId, ['Thread'], 'filter.threadId').id : undefined,
      };
      // Checked as each event arrives, so a subscriber queues only what it will be sent.
      return subscribeActivity((event) => matchesFilter(wanted, event) && canReceive(ctx.viewer, event));
    },
    resolve: (event) => event,
  }),
);
