import { builder, WRITE_ERRORS } from '../../builder.js';
import { loader, type Context } from '../../context.js';
import { prisma } from '../../db/client.js';
import type { SupportCase, User } from '../../generated/prisma/client.js';
import { OutboundMessageKind, OutboundMessageStatus } from '../../generated/prisma/enums.js';
import { decodeId } from '../../ids.js';
import { visibleNode } from '../../nodes.js';
import { UserType } from '../identity/identity.schema.js';
import { SupportCaseType } from '../support/cases.schema.js';
import * as mail from './mail.service.js';
import * as policy from './policy.js';

// The outbox's GraphQL: ADMINs read what was (or will be) emailed and requeue what failed.

const OutboundMessageKindEnum = builder.enumType(OutboundMessageKind, {
  name: 'OutboundMessageKind',
  description: 'Why an email was sent.',
  values: {
    CASE_REPLY: { description: "A public staff reply to a support case that came in by email, to its requester." },
    CASE_STATUS_CHANGED: { description: 'A support case that came in by email waits on its requester, is resolved or is closed: told to the requester.' },
    EMAIL_VERIFICATION: { description: 'A link to confirm an email address (its text is not shown here).' },
    SIGN_UP_EMAIL_TAKEN: { description: 'Someone signed up with an address that has an account: told to its owner (its text is not shown here).' },
    PASSWORD_RESET: { description: 'A password reset link (its text is not shown here).' },
    PASSWORD_CHANGED: { description: "A note that the account's password was changed." },
    NOTIFICATION: { description: 'A notification sent by email, as its recipient asked.' },
    DIGEST: { description: 'A digest of notifications.' },
  },
});

const OutboundMessageStatusEnum = builder.enumType(OutboundMessageStatus, {
  name: 'OutboundMessageStatus',
  description: 'Where an email is in the outbox.',
  values: {
    PENDING: { description: 'Waiting for its first or next delivery attempt, at `nextAttemptAt`.' },
    SENT: { description: 'Accepted by the SMTP server, at `sentAt`.' },
    DEAD: {
      description: 'Given up: refused for good by the server, or failed MAIL_MAX_ATTEMPTS times; `lastError` says why. retryOutboundMessage requeues it.',
    },
    LOGGED: {
      description: 'Not sent: the instance had no SMTP_URL, so it wrote the email to its log instead. retryOutboundMessage requeues it, once SMTP_URL is set.',
    },
  },
});

const usersById = (ctx: Context) =>
  loader(ctx, 'mail.usersById', async (ids: readonly number[]) => {
    const rows = new Map((await prisma().user.findMany({ where: { id: { in: [...ids] } } })).map((row) => [row.id, row]));
    return ids.map((id): User | null => rows.get(id) ?? null);
  });
const casesById = (ctx: Context) =>
  loader(ctx, 'mail.casesById', async (ids: readonly number[]) => {
    const rows = new Map((await prisma().supportCase.findMany({ where: { id: { in: [...ids] } } })).map((row) => [row.id, row]));
    return ids.map((id): SupportCase | null => rows.get(id) ?? null);
  });

export const OutboundMessageType = builder.prismaNode('OutboundMessage', {
  id: { field: 'id' },
  nullable: true,
  description: 'One email in the outbox, queued in the same transaction as the change that caused it. ADMIN only.',
  findUnique: visibleNode('OutboundMessage', (ctx) => policy.outboundVisibleWhere(ctx.viewer)),
  fields: (t) => ({
    kind: t.expose('kind', { type: OutboundMessageKindEnum, description: 'Why it was sent.' }),
    status: t.expose('status', { type: OutboundMessageStatusEnum, description: 'Where it is in the outbox.' }),
    to: t.exposeString('toAddress', { description: 'The recipient address.' }),
    subject: t.exposeString('subject', { description: 'The Subject header.' }),
    text: t.string({
      nullable: true,
      description: 'The plain-text body; null for account emails that carry a one-time link (reset, verification), which even ADMINs must not be able to use.',
      resolve: (message) => mail.readableText(message),
    }),
    messageId: t.exposeString('messageId', { description: 'Its Message-ID header, with angle brackets: an answer to it names it in In-Reply-To.' }),
    inReplyTo: t.exposeString('inReplyTo', { nullable: true, description: 'The In-Reply-To header: the Message-ID it answers, if any.' }),
    references: t.exposeStringList('references', { description: 'The References header: the Message-IDs of the conversation before it, oldest first.' }),
    attempts: t.exposeInt('attempts', { description: 'Delivery attempts made so far.' }),
    nextAttemptAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'PENDING: when the next attempt is due (or, while one is under way, when it may be taken over); null otherwise.',
      resolve: (message) => (message.status === 'PENDING' ? message.nextAttemptAt : null),
    }),
    lastError: t.exposeString('lastError', { nullable: true, description: "The last failed attempt's error, with the SMTP server's answer when it gave one." }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was queued.' }),
    sentAt: t.expose('sentAt', { type: 'DateTime', nullable: true, description: 'SENT: when the server accepted it.' }),
    user: t.field({
      type: UserType,
      nullable: true,
      description: 'The user it is for, when it is for an account (notifications, account emails).',
      resolve: (message, _args, ctx) => (message.userId === null ? null : usersById(ctx).load(message.userId)),
    }),
    supportCase: t.field({
      type: SupportCaseType,
      nullable: true,
      description: 'The support case it belongs to (replies and status changes to an email requester).',
      resolve: (message, _args, ctx) => (message.caseId === null ? null : casesById(ctx).load(message.caseId)),
    }),
  }),
});

const OutboundMessageFilter = builder.inputType('OutboundMessageFilter', {
  description: 'All given conditions hold.',
  fields: (t) => ({
    status: t.field({ type: OutboundMessageStatusEnum, description: 'Only emails in this status.' }),
    kind: t.field({ type: OutboundMessageKindEnum, description: 'Only emails of this kind.' }),
    caseId: t.id({ description: 'Only the emails of this support case (its global id).' }),
  }),
});

builder.queryField('outboundMessages', (t) =>
  t.prismaConnection(
    {
      type: 'OutboundMessage',
      cursor: 'id',
      description: 'ADMIN: the outbox, newest first.',
      args: { filter: t.arg({ type: OutboundMessageFilter, description: 'Narrows the list; omitted: every email.' }) },
      resolve: (query, _root, { filter }, ctx) =>
        prisma().outboundMessage.findMany({ ...query, where: mail.outboundListWhere(ctx.viewer, parseFilter(filter)), orderBy: { id: 'desc' } }),
      totalCount: (_root, { filter }, ctx) => prisma().outboundMessage.count({ where: mail.outboundListWhere(ctx.viewer, parseFilter(filter)) }),
    },
    { name: 'OutboundMessageConnection' },
    { name: 'OutboundMessageEdge' },
  ),
);

function parseFilter(filter: { status?: OutboundMessageStatus | null; kind?: OutboundMessageKind | null; caseId?: string | null } | null | undefined) {
  return filter && { ...filter, caseId: filter.caseId ? decodeId(filter.caseId, ['SupportCase'], 'filter.caseId').id : null };
}

const RetryOutboundMessageInput = builder.inputType('RetryOutboundMessageInput', {
  description: 'The email to requeue.',
  fields: (t) => ({ id: t.id({ required: true, description: 'The global id of a DEAD or LOGGED OutboundMessage.' }) }),
});
const RetryOutboundMessagePayload = builder.simpleObject('RetryOutboundMessagePayload', {
  description: 'What retryOutboundMessage answers when it succeeds.',
  fields: (t) => ({ outboundMessage: t.field({ type: OutboundMessageType, description: 'The email, PENDING again and due now.' }) }),
});

builder.mutationField('retryOutboundMessage', (t) =>
  t.field({
    type: RetryOutboundMessagePayload,
    description: 'ADMIN: requeue a DEAD email (or a LOGGED one, once SMTP_URL is set): PENDING again, attempts reset, sent at once.',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: RetryOutboundMessageInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      outboundMessage: await mail.retryOutboundMessage(ctx.viewer, decodeId(input.id, ['OutboundMessage'], 'input.id').id),
    }),
  }),
);
