import { brandWithType } from '@pothos/core';
import { builder } from '../../builder.js';
import { loader } from '../../context.js';
import { prisma } from '../../db/client.js';
import { subscribeActivity, subscriberBacklog, type ActivityMessage } from '../../events/bus.js';
import { ActivityKind } from '../../generated/prisma/enums.js';
import type { ActivityKind as ActivityKindValue } from '../../generated/prisma/enums.js';
import { decodeId } from '../../ids.js';
import { PostType, SpaceType, ThreadType } from '../community/community.schema.js';
import { UserType } from '../identity/identity.schema.js';
import { caseVisibleWhere } from '../support/cases.js';
import { CaseTimelineEntryType, SupportCaseType } from '../support/cases.schema.js';
import { RoutingRuleType } from '../support/routing.schema.js';
import { DepartmentType, SupportChannelType } from '../support/support.schema.js';
import { departmentIdsOf } from '../support/support.service.js';
import { checkPageArgs } from '../../pagination.js';
import {
  applyAccessChange,
  assertKnownCursor,
  canReceive,
  decodeActivityCursor,
  encodeActivityCursor,
  matchesFilter,
  readLog,
  replayThenLive,
  type ActivityFilter,
  type ActivityViewer,
} from './activity.service.js';

const SUBJECT_TYPES = {
  Thread: ThreadType,
  Post: PostType,
  Space: SpaceType,
  User: UserType,
  Department: DepartmentType,
  SupportChannel: SupportChannelType,
  SupportCase: SupportCaseType,
  CaseTimelineEntry: CaseTimelineEntryType,
  RoutingRule: RoutingRuleType,
};

const ActivityKindEnum = builder.enumType(ActivityKind, { name: 'ActivityKind' });

const ActivityEventType = builder.objectRef<ActivityMessage>('ActivityEvent').implement({
  description: 'Something that happened, as written to the activity log.',
  fields: (t) => ({
    id: t.id({
      description:
        'Opaque and ordered (a later event has a greater id, also as a string). Pass it as `after` to resume.',
      resolve: (event) => encodeActivityCursor(event.id),
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
    supportCase: t.prismaField({
      type: 'SupportCase',
      nullable: true,
      description: 'The support case the event is about, if any and visible to you.',
      // One statement for a page of events, with the selection asked for (a loader per request).
      resolve: (query, event, _args, ctx) =>
        event.caseId == null
          ? null
          : loader(ctx, `activitySupportCases:${JSON.stringify(query)}`, async (ids: readonly number[]) => {
              const rows = await prisma().supportCase.findMany({ ...query, where: { id: { in: [...ids] }, AND: [caseVisibleWhere(ctx.viewer)] } });
              return ids.map((id) => rows.find((row) => row.id === id) ?? null);
            }).load(event.caseId),
    }),
    subject: t.field({
      type: builder.nodeInterfaceRef(),
      nullable: true,
      description: 'What the event is about (a Thread, Post, Space, User or a support record); null if it no longer exists.',
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
    case 'Department':
      return prisma().department.findUnique(where);
    case 'SupportChannel':
      return prisma().supportChannel.findUnique(where);
    case 'SupportCase':
      return prisma().supportCase.findUnique(where);
    case 'CaseTimelineEntry':
      return prisma().caseEvent.findUnique(where);
    case 'RoutingRule':
      return prisma().routingRule.findUnique(where);
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

type FilterArg = { kinds?: ActivityKindValue[] | null; spaceIds?: string[] | null; threadId?: string | null } | null | undefined;

function activityFilter(filter: FilterArg): ActivityFilter {
  return {
    kinds: filter?.kinds ?? undefined,
    spaceIds: filter?.spaceIds?.map((id, i) => decodeId(id, ['Space'], `filter.spaceIds.${i}`).id),
    threadId: filter?.threadId ? decodeId(filter.threadId, ['Thread'], 'filter.threadId').id : undefined,
  };
}

builder.subscriptionField('activity', (t) =>
  t.field({
    type: ActivityEventType,
    description:
      'Live activity you are allowed to see, filtered. With `after` (an event id), first replays what you missed since then, in order, then continues live: no gap, no duplicate. Over graphql-ws or SSE.',
    args: {
      filter: t.arg({ type: ActivityFilterInput }),
      after: t.arg.string({ description: 'Resume after this ActivityEvent id.' }),
    },
    subscribe: async (_root, args, ctx) => {
      const wanted = activityFilter(args.filter);
      const afterId = args.after == null ? undefined : decodeActivityCursor(args.after, 'after');
      if (afterId !== undefined) await assertKnownCursor(afterId, args.after!);
      // Subscribed before any replay, so what commits during the replay is not lost. Checked as
      // each event arrives, with the viewer's rights as they are then.
      const viewer: ActivityViewer | null = ctx.viewer && { ...ctx.viewer, departmentIds: [] };
      const live = subscribeActivity(
        (event) => {
          applyAccessChange(viewer, event);
          return matchesFilter(wanted, event) && canReceive(viewer, event);
        },
        subscriberBacklog(),
        // 1008 Policy Violation: the client reads slower than events arrive.
        (error) => ctx.closeConnection?.(1008, error.message),
      );
      // Support departments, read once subscribed so a membership change in between is not lost;
      // later changes arrive as DEPARTMENT_MEMBER_* events (applyAccessChange).
      if (viewer) viewer.departmentIds = await departmentIdsOf(viewer.id);
      return afterId === undefined ? live : replayThenLive(viewer, wanted, afterId, live);
    },
    resolve: (event) => event,
  }),
);

builder.queryField('activityLog', (t) =>
  t.connection(
    {
      type: ActivityEventType,
      description: 'The activity log you are allowed to see, oldest first; the same events the `activity` subscription streams.',
      args: { filter: t.arg({ type: ActivityFilterInput }) },
      resolve: async (_root, args, ctx) => {
        checkPageArgs(args);
        const wanted = activityFilter(args.filter);
        const after = args.after == null ? undefined : decodeActivityCursor(args.after, 'after');
        const before = args.before == null ? undefined : decodeActivityCursor(args.before, 'before');
        const backwards = args.first == null;
        const size = (backwards ? args.last : args.first)!;
        const rows = await readLog(ctx.viewer, wanted, { after, before, take: size + 1, newestFirst: backwards });
        const more = rows.length > size;
        const events = more ? (backwards ? rows.slice(1) : rows.slice(0, size)) : rows;
        return {
          edges: events.map((event) => ({ cursor: encodeActivityCursor(event.id), node: event })),
          pageInfo: {
            startCursor: events.length ? encodeActivityCursor(events[0].id) : null,
            endCursor: events.length ? encodeActivityCursor(events[events.length - 1].id) : null,
            hasNextPage: backwards ? before !== undefined : more,
            hasPreviousPage: backwards ? more : after !== undefined,
          },
        };
      },
    },
    { name: 'ActivityConnection' },
    { name: 'ActivityEdge' },
  ),
);
