import { brandWithType } from '@pothos/core';
import { builder } from '../../builder.js';
import { loader } from '../../context.js';
import { prisma } from '../../db/client.js';
import type { ActivityMessage } from '../../events/bus.js';
import { ActivityKind } from '../../generated/prisma/enums.js';
import type { ActivityKind as ActivityKindValue } from '../../generated/prisma/enums.js';
import { decodeId } from '../../ids.js';
import type { Viewer } from '../../context.js';
import { PostType, SpaceType, ThreadType } from '../community/community.schema.js';
import { canSeeContent } from '../community/policy.js';
import { AutomodRuleType } from '../moderation/automod-rules.schema.js';
import { AppealType, ModerationActionType } from '../moderation/moderation.schema.js';
import { QueueItemType } from '../moderation/queue.schema.js';
import { canSeeEventActor } from '../moderation/policy.js';
import { UserType } from '../identity/identity.schema.js';
import { canManageCommunity } from '../identity/roles.js';
import { ListeningAlertType } from '../listening/alerts.schema.js';
import { caseVisibleWhere } from '../support/policy.js';
import { CaseTimelineEntryType, SupportCaseType } from '../support/cases.schema.js';
import { BadgeAwardType, BadgeType } from '../participation/badges.schema.js';
import { RoutingRuleType } from '../support/routing.schema.js';
import { DepartmentType, SupportChannelType } from '../support/support.schema.js';
import {
  assertResumableCursor,
  decodeActivityCursor,
  encodeActivityCursor,
  openActivityStream,
  readLog,
  type ActivityFilter,
} from './activity.service.js';

const SUBJECT_TYPES = {
  Thread: ThreadType,
  Post: PostType,
  Space: SpaceType,
  User: UserType,
  ModerationQueueItem: QueueItemType,
  ModerationAction: ModerationActionType,
  Appeal: AppealType,
  ListeningAlert: ListeningAlertType,
  Department: DepartmentType,
  SupportChannel: SupportChannelType,
  SupportCase: SupportCaseType,
  CaseTimelineEntry: CaseTimelineEntryType,
  RoutingRule: RoutingRuleType,
  AutomodRule: AutomodRuleType,
  Badge: BadgeType,
  BadgeAward: BadgeAwardType,
};

const CASE_EVENT = 'Subject: the CaseTimelineEntry; to the requester and the staff of the case';
const CASE_STAFF_EVENT = 'Subject: the CaseTimelineEntry; to the staff of the case only, never the requester';
const ActivityKindEnum = builder.enumType(ActivityKind, {
  name: 'ActivityKind',
  description:
    "What happened. Each event reaches only those allowed to see it; community events reach whoever can see their space, unless the content is removed or held (moderators only). The `subject` of each kind is given below.",
  values: {
    THREAD_CREATED: { description: 'A thread was started. Subject: the Thread.' },
    THREAD_EDITED: { description: 'A thread was edited. Subject: the Thread.' },
    THREAD_ANSWERED: { description: 'A post was marked as the answer. Subject: the Thread.' },
    POST_CREATED: { description: 'A reply was posted. Subject: the Post.' },
    POST_EDITED: { description: 'A post was edited. Subject: the Post.' },
    REACTION_ADDED: { description: 'Someone reacted. Subject: the Thread or Post.' },
    REACTION_REMOVED: { description: 'Someone took back a reaction. Subject: the Thread or Post.' },
    SPACE_CREATED: { description: 'Subject: the Space.' },
    SPACE_UPDATED: { description: 'Subject: the Space.' },
    USER_SIGNED_UP: { description: 'An account was created, by sign-up or for an outside support sender. Subject: the User; staff only.' },
    USER_SIGNED_IN: { description: 'Subject: the User; only they and admins receive it.' },
    USER_SIGNED_OUT: { description: 'Subject: the User; only they and admins receive it. Ends the live subscriptions opened with that token.' },
    USER_ROLE_CHANGED: { description: 'An ADMIN changed a role. Subject: the User; only they and admins receive it.' },
    USER_PASSWORD_CHANGED: {
      description: 'A password was changed or reset. Subject: the User; only they and admins receive it. Ends the live subscriptions of the sessions it signed out.',
    },
    REPORT_CREATED: { description: 'Someone reported content or a user. Subject: the ModerationQueueItem; moderators only.' },
    AUTOMOD_FLAGGED: { description: 'Automod flagged or held a write for review. Subject: the ModerationQueueItem; moderators only.' },
    AUTOMOD_RULES_CHANGED: { description: 'An automod rule was created, updated or deleted. Subject: the AutomodRule (null once deleted); moderators only.' },
    QUEUE_ITEM_CLAIMED: { description: 'Subject: the ModerationQueueItem; moderators only.' },
    QUEUE_ITEM_RELEASED: { description: 'Subject: the ModerationQueueItem; moderators only.' },
    QUEUE_ITEM_RESOLVED: { description: 'Resolved or dismissed. Subject: the ModerationQueueItem; moderators only.' },
    MODERATION_ACTION: {
      description: 'A moderator acted. Subject: the ModerationAction; public in its space when it leaves content published, else moderators only.',
    },
    USER_MODERATED: { description: 'An action was taken on a user or their content. Subject: the User; only they and admins receive it.' },
    APPEAL_FILED: { description: 'Subject: the Appeal; moderators only.' },
    APPEAL_RESOLVED: { description: 'Subject: the Appeal; moderators only.' },
    LISTENING_ALERT: { description: 'A listening alert rule fired. Subject: the ListeningAlert; managers only.' },
    LISTENING_ALERT_ACKNOWLEDGED: { description: 'Subject: the ListeningAlert; managers only.' },
    DEPARTMENT_CREATED: { description: 'Subject: the Department; staff only.' },
    DEPARTMENT_UPDATED: { description: 'Its settings or someone\'s duty changed. Subject: the Department; staff only.' },
    DEPARTMENT_MEMBER_ADDED: { description: 'Subject: the User added; staff only.' },
    DEPARTMENT_MEMBER_REMOVED: { description: 'Subject: the User removed; staff only.' },
    SUPPORT_CHANNEL_CREATED: { description: 'Subject: the SupportChannel; staff only.' },
    SUPPORT_CHANNEL_UPDATED: { description: 'Subject: the SupportChannel; staff only.' },
    CASE_OPENED: { description: `${CASE_EVENT}.` },
    CASE_REPLIED: { description: `A public reply, by staff or the requester. ${CASE_EVENT}.` },
    CASE_NOTE_ADDED: { description: `An internal note. ${CASE_STAFF_EVENT}.` },
    CASE_STATUS_CHANGED: { description: `${CASE_EVENT}.` },
    CASE_ASSIGNED: { description: `Assigned or unassigned. ${CASE_EVENT}.` },
    CASE_TRANSFERRED: { description: `Moved to another department. ${CASE_EVENT}.` },
    CASE_ESCALATED: { description: `Priority raised by one step. ${CASE_STAFF_EVENT}.` },
    CASE_LEAD_NOTIFIED: { description: "A case was escalated: one per lead of its department. Subject: the lead's User; only they and admins receive it." },
    CASE_RATED: { description: `The requester rated the support. ${CASE_EVENT}.` },
    CASE_ROUTED: { description: `A routing rule set the department, priority or tags of a new case. ${CASE_STAFF_EVENT}.` },
    ROUTING_RULES_CHANGED: { description: 'A routing rule was created, updated or deleted. Subject: the RoutingRule (null once deleted); staff only.' },
    REPUTATION_RULES_CHANGED: { description: 'A COMMUNITY_MANAGER or ADMIN changed the reputation weights (updateReputationRules). Subject: the User who changed them; staff only.' },
    SLA_AT_RISK: { description: `80% of an SLA target's business time is used. ${CASE_STAFF_EVENT}.` },
    SLA_BREACHED: { description: `An SLA target was missed. ${CASE_STAFF_EVENT}.` },
    THREAD_DELETED: { description: 'Its author deleted a thread (it stays in place, marked deletedByAuthor). Subject: the Thread.' },
    POST_DELETED: { description: 'Its author deleted a reply (it stays in place, marked deletedByAuthor). Subject: the Post.' },
    THREAD_ANSWER_UNMARKED: { description: 'The accepted answer was taken back (unmarkAnswer, or the answer was deleted). Subject: the Thread.' },
    USER_PROFILE_UPDATED: { description: 'A member changed their profile (name, handle, bio, avatar...). Subject: the User; public.' },
    THREAD_ROUTED_TO_EXPERTS: { description: 'The peer-routing job asked experts of the space to answer a thread that had waited Space.peerAttentionAfterMinutes (see Thread.peerAsks). Subject: the Thread; staff only.' },
    BADGE_AWARDED: { description: 'A member received a badge, from a rule (no actor) or from a staff member. Subject: the BadgeAward; community managers and admins only (the member is notified).' },
    BADGE_REVOKED: { description: 'A manager took a badge back. Subject: the BadgeAward; community managers and admins only.' },
    BADGES_CHANGED: { description: 'A custom badge was created, changed or archived. Subject: the Badge; public.' },
    TRUST_LEVEL_CHANGED: { description: "A member's trust level changed (promoted, demoted or set by hand; actor null when automatic). Subject: the User; to community managers and admins (the member is notified)." },
  },
});

const ActivityEventType = builder.objectRef<ActivityMessage>('ActivityEvent').implement({
  description: 'Something that happened, as written to the activity log.',
  fields: (t) => ({
    id: t.id({
      description:
        'Opaque and ordered (a later event has a greater id, also as a string). Pass it as `after` to resume.',
      resolve: (event) => encodeActivityCursor(event.id),
    }),
    kind: t.field({ type: ActivityKindEnum, description: 'What happened; it says what `subject` is.', resolve: (event) => event.kind }),
    occurredAt: t.field({ type: 'DateTime', description: 'When it was written to the log.', resolve: (event) => new Date(event.occurredAt) }),
    actor: t.field({
      type: UserType,
      nullable: true,
      description: 'Who did it; null for a moderation action unless you moderate.',
      resolve: (event, _args, ctx) =>
        event.actorId == null || !canSeeEventActor(ctx.viewer, event.kind)
          ? null
          : loadOnce(event, 'actor', () => prisma().user.findUnique({ where: { id: event.actorId! } })),
    }),
    space: t.field({
      type: SpaceType,
      nullable: true,
      description: 'The space it happened in; null for events outside spaces (support, listening, accounts).',
      resolve: (event) =>
        event.spaceId == null ? null : loadOnce(event, 'space', () => prisma().space.findUnique({ where: { id: event.spaceId! } })),
    }),
    thread: t.field({
      type: ThreadType,
      nullable: true,
      description: 'The thread it happened in, or about; null if none, or if it is removed or held and you may not see it.',
      resolve: async (event, _args, ctx) => {
        const thread =
          event.threadId == null ? null : await loadOnce(event, 'thread', () => prisma().thread.findUnique({ where: { id: event.threadId! } }));
        return thread && canSeeContent(ctx.viewer, thread) ? thread : null;
      },
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
      description: 'What the event is about (a Thread, Post, Space, User, a moderation, support or listening record); null if it no longer exists or you may not see it (removed content, say).',
      resolve: async (event, _args, ctx) => {
        const record = await loadOnce(event, 'subject', async () => {
          const loaded = await loadSubject(event);
          if (loaded) brandWithType(loaded, SUBJECT_TYPES[event.subjectType as keyof typeof SUBJECT_TYPES]);
          return loaded;
        });
        return record && canSeeSubject(ctx.viewer, event.subjectType, record) ? record : null;
      },
    }),
  }),
});

// The bus hands the same ActivityMessage object to every subscription of this process, so the
// records an event refers to are loaded once per event and shared by all its deliveries, not
// once per subscriber (1,000 subscribers were 3,000 Prisma calls per event; bench/RESULTS.md).
// What each viewer may see is still decided per delivery: canReceive before anything is
// resolved, then canSeeContent / canSeeSubject on the shared record. The records are read-only
// to the resolvers. Keyed weakly: an event's records go with the event.
const loadedForEvent = new WeakMap<ActivityMessage, Map<string, Promise<unknown>>>();

function loadOnce<T>(event: ActivityMessage, field: string, load: () => Promise<T>): Promise<T> {
  let loaded = loadedForEvent.get(event);
  if (!loaded) loadedForEvent.set(event, (loaded = new Map()));
  let record = loaded.get(field) as Promise<T> | undefined;
  if (!record) loaded.set(field, (record = load()));
  return record;
}

/** Moderation applies per viewer: removed or held content (or a post in a removed thread) is null for those who may not see it. */
function canSeeSubject(viewer: Viewer | null, subjectType: string, record: object): boolean {
  switch (subjectType) {
    case 'Thread':
      return canSeeContent(viewer, record as Parameters<typeof canSeeContent>[1]);
    case 'Post': {
      const post = record as Parameters<typeof canSeeContent>[1] & { thread: Parameters<typeof canSeeContent>[1] };
      return canSeeContent(viewer, post) && canSeeContent(viewer, post.thread);
    }
    // A revoked award: only those who may still read it (its own node rule).
    case 'BadgeAward':
      return (record as { revokedAt: Date | null }).revokedAt == null || (!!viewer && canManageCommunity(viewer.role));
    // Their events go to moderators only (or, for a public action, to those who see its space).
    default:
      return true;
  }
}

// Prisma batches findUnique calls made in the same tick, so the subjects of a page of the log
// are read with one statement per type.
async function loadSubject(event: ActivityMessage): Promise<object | null> {
  const where = { where: { id: event.subjectId } };
  switch (event.subjectType) {
    case 'Thread':
      return prisma().thread.findUnique(where);
    case 'Post':
      return prisma().post.findUnique({ ...where, include: { thread: { select: { moderationStatus: true, authorId: true } } } });
    case 'ModerationQueueItem':
      return prisma().moderationQueueItem.findUnique(where);
    case 'ModerationAction':
      return prisma().moderationAction.findUnique(where);
    case 'Appeal':
      return prisma().appeal.findUnique(where);
    case 'Space':
      return prisma().space.findUnique(where);
    case 'User':
      return prisma().user.findUnique(where);
    case 'ListeningAlert':
      return prisma().listeningAlert.findUnique(where);
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
    case 'AutomodRule':
      return prisma().automodRule.findUnique(where);
    case 'Badge':
      return prisma().badge.findUnique(where);
    case 'BadgeAward':
      return prisma().badgeAward.findUnique(where);
    default:
      return Promise.resolve(null);
  }
}

const ActivityFilterInput = builder.inputType('ActivityFilter', {
  description: 'Narrows the activity you are allowed to see; the given conditions must all hold.',
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
      filter: t.arg({ type: ActivityFilterInput, description: 'Narrows the stream; omitted: every event you may see.' }),
      after: t.arg.string({ description: 'Resume after this ActivityEvent id.' }),
    },
    subscribe: (_root, args, ctx) =>
      openActivityStream(
        ctx.viewer,
        activityFilter(args.filter),
        args.after == null ? undefined : { id: decodeActivityCursor(args.after, 'after'), cursor: args.after },
        ctx,
      ),
    resolve: (event) => event,
  }),
);

builder.queryField('activityLog', (t) =>
  t.connection(
    {
      type: ActivityEventType,
      description: 'The activity log you are allowed to see, oldest first; the same events the `activity` subscription streams.',
      args: { filter: t.arg({ type: ActivityFilterInput, description: 'Narrows the log; omitted: every event you may see.' }) },

      resolve: async (_root, args, ctx) => {
        const wanted = activityFilter(args.filter);
        const after = args.after == null ? undefined : decodeActivityCursor(args.after, 'after');
        if (after !== undefined) await assertResumableCursor(after, args.after!);
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
