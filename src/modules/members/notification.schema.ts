import { brandWithType } from '@pothos/core';
import { builder, WRITE_ERRORS } from '../../builder.js';
import { loader, type Context } from '../../context.js';
import { prisma } from '../../db/client.js';
import { ValidationError } from '../../errors.js';
import type { Notification, User } from '../../generated/prisma/client.js';
import { NotificationKind } from '../../generated/prisma/enums.js';
import { decodeId } from '../../ids.js';
import { visibleNode } from '../../nodes.js';
import { PostType, ThreadType } from '../community/community.schema.js';
import { UserType } from '../identity/identity.schema.js';
import { AppealType, ModerationActionType } from '../moderation/moderation.schema.js';
import { ReportType } from '../moderation/queue.schema.js';
import { BadgeAwardType } from '../participation/badges.schema.js';
import { SupportCaseType } from '../support/cases.schema.js';
import * as notifications from './notification.service.js';

export const NotificationKindEnum = builder.enumType(NotificationKind, {
  name: 'NotificationKind',
  description: 'What a notification tells you; it says what its `subject` is.',
  values: {
    REPLIED: { description: 'Replies in a thread you watch (grouped per thread while unread). Subject: the newest reply (Post).' },
    MENTIONED: { description: 'Someone mentioned you. Subject: the Thread or Post.' },
    ANSWER_ACCEPTED: { description: 'Your post was marked as the answer. Subject: the Post.' },
    REACTED: { description: 'Reactions to your thread or post (grouped per thread or post while unread). Subject: the Thread or Post.' },
    CASE_UPDATED: { description: 'News on a support case of yours: a public reply or change, never an internal note. Subject: the SupportCase.' },
    REPORT_RESOLVED: { description: 'Moderators dealt with your report. Subject: the Report.' },
    APPEAL_DECIDED: { description: 'Your appeal was decided. Subject: the Appeal.' },
    CONTENT_MODERATED: { description: 'A moderator acted on your thread or post; `text` has the public reason. Subject: the ModerationAction.' },
    PEER_ASK: { description: 'You were asked, as one of the experts of its space, to answer a thread nobody has answered yet. Subject: the Thread.' },
    BADGE_AWARDED: { description: 'You received a badge; `text` names it. Subject: the BadgeAward.' },
    TRUST_LEVEL_CHANGED: { description: 'Your trust level changed; `text` says from which to which. Subject: you (User).' },
  },
});

type SubjectTypename = 'Thread' | 'Post' | 'SupportCase' | 'Report' | 'Appeal' | 'ModerationAction' | 'BadgeAward' | 'User';
const SUBJECT_TYPES = {
  Thread: ThreadType,
  Post: PostType,
  SupportCase: SupportCaseType,
  Report: ReportType,
  Appeal: AppealType,
  ModerationAction: ModerationActionType,
  BadgeAward: BadgeAwardType,
  User: UserType,
};

const NotificationSubject = builder.unionType('NotificationSubject', {
  description: 'What a notification is about.',
  types: [ThreadType, PostType, SupportCaseType, ReportType, AppealType, ModerationActionType, BadgeAwardType, UserType],
  resolveType: (record) => subjectTypenames.get(record as object) ?? null,
});
const subjectTypenames = new WeakMap<object, SubjectTypename>();

/** The subjects of a page, one statement per subject type (a loader per request and type). */
function loadSubject(ctx: Context, typename: string, id: number): Promise<object | null> {
  if (!(typename in SUBJECT_TYPES)) return Promise.resolve(null);
  const name = typename as SubjectTypename;
  return loader(ctx, `notificationSubject:${name}`, async (ids: readonly number[]) => {
    const where = { where: { id: { in: [...ids] } } };
    const delegate = prisma();
    const rows: { id: number }[] = await {
      Thread: () => delegate.thread.findMany(where),
      Post: () => delegate.post.findMany(where),
      SupportCase: () => delegate.supportCase.findMany(where),
      Report: () => delegate.report.findMany(where),
      Appeal: () => delegate.appeal.findMany(where),
      ModerationAction: () => delegate.moderationAction.findMany(where),
      BadgeAward: () => delegate.badgeAward.findMany({ where: { ...where.where, revokedAt: null } }),
      User: () => delegate.user.findMany(where),
    }[name]();
    for (const row of rows) {
      brandWithType(row, SUBJECT_TYPES[name] as never);
      subjectTypenames.set(row, name);
    }
    const byId = new Map(rows.map((row) => [row.id, row as object]));
    return ids.map((key) => byId.get(key) ?? null);
  }).load(id);
}

/** The users of a page's notifications, in one statement. */
function loadUsers(ctx: Context, ids: number[]): Promise<User[]> {
  return loader(ctx, 'notificationActors', async (keys: readonly number[]): Promise<(User | null)[]> => {
    const rows = await prisma().user.findMany({ where: { id: { in: [...keys] } } });
    const byId = new Map(rows.map((row) => [row.id, row]));
    return keys.map((key) => byId.get(key) ?? null);
  })
    .loadMany(ids)
    .then((users) => users.filter((user): user is User => !!user && !(user instanceof Error)));
}

/** Actors named in the list and the text. */
const SHOWN_ACTORS = 3;

function describe(notification: Notification, firstName: string | undefined): string {
  const others = notification.actorCount - 1;
  const who = !firstName ? 'Someone' : others > 0 ? `${firstName} and ${others} ${others === 1 ? 'other' : 'others'}` : firstName;
  const what = notification.subjectType === 'Thread' ? 'thread' : 'post';
  switch (notification.kind) {
    case 'REPLIED':
      return `${who} replied in a thread you watch`;
    case 'MENTIONED':
      return `${who} mentioned you in a ${what}`;
    case 'ANSWER_ACCEPTED':
      return `${who} accepted your post as the answer`;
    case 'REACTED':
      return `${who} reacted to your ${what}`;
    case 'CASE_UPDATED':
      return 'There is news on your support case';
    case 'REPORT_RESOLVED':
      return 'Moderators reviewed your report';
    case 'APPEAL_DECIDED':
    case 'CONTENT_MODERATED':
      return notification.detail ?? 'A moderator acted on your content';
    case 'PEER_ASK':
      return 'A thread you could answer is waiting for a reply';
    case 'BADGE_AWARDED':
      return notification.detail ?? 'You received a badge';
    case 'TRUST_LEVEL_CHANGED':
      return notification.detail ?? 'Your trust level changed';
  }
}

export const NotificationType = builder.prismaNode('Notification', {
  id: { field: 'id' },
  nullable: true,
  description: 'Something you were told about. Only you can read your notifications; one whose subject you can no longer read is left out.',
  findUnique: visibleNode('Notification', (ctx) => notifications.notificationVisibleWhere(ctx.viewer)),
  fields: (t) => ({
    kind: t.expose('kind', { type: NotificationKindEnum, description: 'What it tells; it says what `subject` is.' }),
    subject: t.field({
      type: NotificationSubject,
      nullable: true,
      description: 'What it is about; null if that no longer exists.',
      // Typed loosely: the union's resolveType tells the row's type.
      resolve: (n, _args, ctx) => loadSubject(ctx, n.subjectType, n.subjectId) as Promise<never>,
    }),
    actors: t.field({
      type: [UserType],
      description: `Who did it, newest first: the first ${SHOWN_ACTORS} (see actorCount). Empty for moderation outcomes, which name no moderator.`,
      resolve: (n, _args, ctx) => loadUsers(ctx, n.actorIds.slice(0, SHOWN_ACTORS)),
    }),
    actorCount: t.exposeInt('actorCount', { description: 'How many different people did it (grouped notifications count each once).' }),
    text: t.string({
      description: 'A short sentence for people, e.g. "Ana and 3 others reacted to your post".',
      resolve: async (n, _args, ctx) => {
        const [first] = n.actorIds.length ? await loadUsers(ctx, n.actorIds.slice(0, 1)) : [];
        return describe(n as Notification, first?.displayName);
      },
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was first written.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When it last changed: a grouped notification moves up with each new event.' }),
    readAt: t.expose('readAt', { type: 'DateTime', nullable: true, description: 'When you marked it read; null while unread.' }),
  }),
});

const NotificationFilter = builder.inputType('NotificationFilter', {
  description: 'Narrows your notifications; omitted fields do not filter.',
  fields: (t) => ({
    unread: t.boolean({ description: 'true: unread only; false: read only.' }),
    kinds: t.field({ type: [NotificationKindEnum], description: 'Only these kinds.' }),
  }),
});

const isViewer = (ctx: Context, user: { id: number }) => !!ctx.viewer && ctx.viewer.id === user.id;

builder.objectFields(UserType, (t) => ({
  notifications: t.connection(
    {
      type: NotificationType,
      nullable: true,
      description: 'Your notifications, newest first (`viewer { notifications }`); null on any user but you.',
      args: { filter: t.arg({ type: NotificationFilter, description: 'Narrows the list; omitted: all of them.' }) },
      resolve: async (user, args, ctx) => {
        if (!isViewer(ctx, user)) return null;
        if (args.first == null) throw ValidationError.field('first', 'is required: notifications page forwards, newest first');
        const { rows, hasNextPage } = await notifications.listNotifications(ctx.viewer!, args.filter ?? {}, { first: args.first, after: args.after });
        return {
          totalCount: () => notifications.countNotifications(ctx.viewer!, args.filter ?? {}),
          edges: rows.map((row) => ({ cursor: notifications.encodeNotificationCursor(row), node: row })),
          pageInfo: {
            hasNextPage,
            hasPreviousPage: args.after != null,
            startCursor: rows.length ? notifications.encodeNotificationCursor(rows[0]) : null,
            endCursor: rows.length ? notifications.encodeNotificationCursor(rows[rows.length - 1]) : null,
          },
        };
      },
    },
    {
      name: 'NotificationConnection',
      fields: (c) => ({
        totalCount: c.int({
          description: 'How many notifications the filter matches, all pages together.',
          // Counted only when asked for.
          resolve: (connection) => (connection as unknown as { totalCount: () => Promise<number> }).totalCount(),
        }),
      }),
    },
    { name: 'NotificationEdge' },
  ),
  unreadNotificationCount: t.int({
    nullable: true,
    description: 'How many of your notifications are unread (`viewer { unreadNotificationCount }`); null on any user but you.',
    resolve: (user, _args, ctx) => (isViewer(ctx, user) ? notifications.unreadCount(ctx.viewer!) : null),
  }),
}));

const MarkNotificationsReadInput = builder.inputType('MarkNotificationsReadInput', {
  description: 'Exactly one of `ids` and `before`.',
  isOneOf: true,
  fields: (t) => ({
    ids: t.idList({ description: 'These notifications of yours (at most 100).', extensions: { maxItems: 100 } }),
    before: t.field({ type: 'DateTime', description: 'Every notification of yours last updated at or before this time.' }),
  }),
});

const MarkNotificationsReadPayload = builder.simpleObject('MarkNotificationsReadPayload', {
  description: 'What markNotificationsRead did.',
  fields: (t) => ({
    markedCount: t.int({ description: 'How many unread notifications became read.' }),
    unreadCount: t.int({ description: 'How many of your notifications are still unread.' }),
  }),
});

builder.mutationField('markNotificationsRead', (t) =>
  t.field({
    type: MarkNotificationsReadPayload,
    description: 'Signed in. Marks your notifications read; an id that is not one of yours is a NotFoundError and marks nothing.',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: MarkNotificationsReadInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      if ((input.ids == null) === (input.before == null)) throw ValidationError.field('input', 'give exactly one of ids and before');
      const target = input.ids
        ? { ids: input.ids.map((id, i) => decodeId(String(id), ['Notification'], `input.ids.${i}`).id) }
        : { before: input.before! };
      const { marked, unread } = await notifications.markRead(ctx.viewer, target);
      return { markedCount: marked, unreadCount: unread };
    },
  }),
);

const NotificationAddedType = builder.objectRef<notifications.NotificationAdded>('NotificationAdded').implement({
  description: 'A new notification of yours, or a grouped one that moved up, with your new unread count.',
  fields: (t) => ({
    notification: t.field({ type: NotificationType, description: 'The notification as it is now.', resolve: (e) => e.notification }),
    unreadCount: t.int({ description: 'Your unread notifications, this one included.', resolve: (e) => e.unreadCount }),
  }),
});

builder.subscriptionField('notificationAdded', (t) =>
  t.field({
    type: NotificationAddedType,
    description:
      'Signed in: your notifications as they are written, from any instance, each with the new unread count; only yours. Ends when your session ends or you are suspended. Over graphql-ws or SSE.',
    subscribe: (_root, _args, ctx) => notifications.openNotificationStream(ctx.viewer, ctx),
    resolve: (event) => event,
  }),
);

