import { builder, WRITE_ERRORS } from '../../builder.js';
import { prisma } from '../../db/client.js';
import { CasePriority, SupportChannelKind } from '../../generated/prisma/enums.js';
import { decodeId } from '../../ids.js';
import { visibleNode } from '../../nodes.js';
import { SpaceType } from '../community/community.schema.js';
import { canSeeSpace } from '../community/policy.js';
import { setOnDuty } from './assignment.js';
import { rotateIngestSecret } from './ingest.js';
import * as channels from './channels.js';
import * as departments from './departments.js';
import * as policy from './policy.js';
import type { SlaTarget } from './sla.js';
import { slaTargets } from './sla.js';

// ---- Departments and channels -----------------------------------------------------------------

export const CasePriorityEnum = builder.enumType(CasePriority, {
  name: 'CasePriority',
  description: "LOW < NORMAL < HIGH < URGENT: picks the channel's SLA target; escalateCase moves a case one step up.",
  values: {
    LOW: { description: 'The least urgent.' },
    NORMAL: { description: 'The default for a new case.' },
    HIGH: { description: 'More urgent than NORMAL; the default for a case opened from a negative mention.' },
    URGENT: { description: 'The most urgent; escalating an URGENT case keeps it URGENT.' },

  },
});
const SupportChannelKindEnum = builder.enumType(SupportChannelKind, {
  name: 'SupportChannelKind',
  description: 'How requests reach a channel: a label for people and reports; every kind works the same way.',
  values: {
    EMAIL: { description: 'Requests by email.' },
    WEB_FORM: { description: 'Requests through a form on a website.' },
    CHAT: { description: 'Requests by live chat.' },
    PHONE: { description: 'Requests by phone.' },
    SOCIAL: { description: 'Requests on social networks.' },
    FORUM: { description: 'Requests from the community forum.' },
  },
});
const WeekdayEnum = builder.enumType('Weekday', {
  description: 'A day of the week, in the department\'s time zone.',
  values: {
    MONDAY: { description: 'Monday.' },
    TUESDAY: { description: 'Tuesday.' },
    WEDNESDAY: { description: 'Wednesday.' },
    THURSDAY: { description: 'Thursday.' },
    FRIDAY: { description: 'Friday.' },
    SATURDAY: { description: 'Saturday.' },
    SUNDAY: { description: 'Sunday.' },
  } satisfies Record<departments.Weekday, { description: string }>,
});

const OpeningHoursType = builder.objectRef<{ day: departments.Weekday; opens: string; closes: string }>('OpeningHours').implement({
  description: 'One interval of a weekly schedule, in local wall-clock time ("09:00" to "17:30"; "24:00" is midnight at the end of the day).',
  fields: (t) => ({
    day: t.field({ type: WeekdayEnum, description: 'The day the interval falls on.', resolve: (hours) => hours.day }),
    opens: t.exposeString('opens', { description: '"HH:MM", local time.' }),
    closes: t.exposeString('closes', { description: '"HH:MM", after opens; "24:00" is the end of the day.' }),
  }),
});

const DepartmentMemberType = builder.prismaObject('DepartmentMember', {
  description: 'A member of a support department: an AGENT, COMMUNITY_MANAGER or ADMIN who handles its cases.',
  fields: (t) => ({
    user: t.relation('user', { description: 'The staff member.' }),
    lead: t.exposeBoolean('lead', { description: 'Leads are notified when a case of the department is escalated.' }),
    onDuty: t.exposeBoolean('onDuty', { description: 'Takes automatically assigned cases.' }),
    addedAt: t.expose('addedAt', { type: 'DateTime', description: 'When they joined the department.' }),
  }),
});

export const DepartmentType = builder.prismaNode('Department', {
  id: { field: 'id' },
  nullable: true,
  description: 'A support team and its business hours. Its name and hours are public; its members are shown to staff.',
  findUnique: visibleNode('Department'),
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Unique.' }),
    timeZone: t.exposeString('timeZone', { description: 'IANA time zone of the weekly hours and holidays.' }),
    weeklyHours: t.field({
      type: [OpeningHoursType],
      description: 'When SLA clocks run, by day and then opening time. Empty: open around the clock.',
      resolve: (department) => departments.weeklyHoursView(department),
    }),
    holidays: t.exposeStringList('holidays', { description: 'Local dates (YYYY-MM-DD) the department is closed, in order.' }),
    autoAssign: t.exposeBoolean('autoAssign', {
      description: 'New cases go round-robin to the on-duty members; a case whose assignee has not answered in time moves on.',
    }),
    members: t.field({
      type: [DepartmentMemberType],
      nullable: true,
      description: 'Staff only (null for others), in the order they joined.',
      // Not even loaded for others: the row rule is in the query, the null in the answer.
      select: (_args, ctx, nestedSelection) => ({
        // (A membership row has no id: MATCH_NOTHING's id filter does not apply.)
        members: nestedSelection({ where: policy.staffReads(ctx.viewer) ? {} : { userId: { in: [] } }, orderBy: [{ addedAt: 'asc' }, { userId: 'asc' }] }),
      }),
      resolve: (department, _args, ctx) => (policy.staffReads(ctx.viewer) ? department.members : null),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

const SlaTargetType = builder.objectRef<SlaTarget>('SlaTarget').implement({
  description: 'What the channel promises for one priority, in business minutes of the handling department.',
  fields: (t) => ({
    priority: t.field({ type: CasePriorityEnum, description: 'The case priority these targets apply to.', resolve: (target) => target.priority }),
    firstResponseMinutes: t.exposeInt('firstResponseMinutes', { description: 'From opening to the first public reply of staff.' }),
    nextResponseMinutes: t.exposeInt('nextResponseMinutes', { description: 'To answer each later message of the requester.' }),
    periodicUpdateMinutes: t.exposeInt('periodicUpdateMinutes', { description: 'Longest silence towards the requester while the case is open.' }),
    resolutionMinutes: t.exposeInt('resolutionMinutes', { description: 'From opening to RESOLVED or CLOSED, not counting time PENDING or ON_HOLD.' }),
  }),
});

export const SupportChannelType = builder.prismaNode('SupportChannel', {
  id: { field: 'id' },
  nullable: true,
  description: 'Where requests arrive. Active channels are public; inactive ones are shown to staff only.',
  findUnique: visibleNode('SupportChannel', (ctx) => policy.channelNodeWhere(ctx.viewer)),
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Unique.' }),
    kind: t.expose('kind', { type: SupportChannelKindEnum, description: 'How requests reach it.' }),
    active: t.exposeBoolean('active', { description: 'Only active channels take new cases.' }),
    defaultDepartment: t.relation('defaultDepartment', { description: 'Handles its new cases, unless a routing rule picks another department.' }),
    space: t.field({
      type: SpaceType,
      nullable: true,
      description: 'The forum space of this channel, if linked and visible to you.',
      select: { space: true },
      resolve: (channel, _args, ctx) => (channel.space && canSeeSpace(ctx.viewer, channel.space.visibility) ? channel.space : null),
    }),
    ingestEnabled: t.boolean({
      description: 'Whether POST /ingest/cases accepts signed messages for this channel.',
      resolve: (channel) => channel.ingestSecret !== null,
    }),
    slaPolicy: t.field({
      type: [SlaTargetType],
      description: 'One target per priority; a priority not listed has no SLA on this channel.',
      resolve: (channel) => slaTargets(channel),
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime' }),
  }),
});

builder.queryFields((t) => ({
  departments: t.prismaConnection(
    {
      type: 'Department',
      cursor: 'id',
      description: 'Support departments, by name. Staff only.',
      resolve: (query, _root, _args, ctx) => {
        return prisma().department.findMany({ ...query, where: departments.departmentListWhere(ctx.viewer), orderBy: [{ name: 'asc' }, { id: 'asc' }] });
      },
      totalCount: (_root, _args, ctx) => prisma().department.count({ where: departments.departmentListWhere(ctx.viewer) }),
    },
    { name: 'DepartmentConnection' },
    { name: 'DepartmentEdge' },
  ),
  supportChannels: t.prismaConnection(
    {
      type: 'SupportChannel',
      cursor: 'id',
      description: 'Where to ask for help: the active channels, by name. Staff may pass includeInactive.',
      args: { includeInactive: t.arg.boolean({ defaultValue: false, description: 'Staff: also inactive channels. Ignored for others.' }) },
      resolve: (query, _root, args, ctx) => {
        return prisma().supportChannel.findMany({
          ...query,
          where: policy.channelListWhere(ctx.viewer, !!args.includeInactive),
          orderBy: [{ name: 'asc' }, { id: 'asc' }],
        });
      },
      totalCount: (_root, args, ctx) => prisma().supportChannel.count({ where: policy.channelListWhere(ctx.viewer, !!args.includeInactive) }),
    },
    { name: 'SupportChannelConnection' },
    { name: 'SupportChannelEdge' },
  ),
}));

const OpeningHoursInput = builder.inputType('OpeningHoursInput', {
  description: 'One opening interval; intervals of the same day must not overlap.',
  fields: (t) => ({
    day: t.field({ type: WeekdayEnum, required: true, description: 'The day the interval falls on.' }),
    opens: t.string({ required: true, description: '"HH:MM", local time.' }),
    closes: t.string({ required: true, description: '"HH:MM" after opens; "24:00" for midnight.' }),
  }),
});
const CreateDepartmentInput = builder.inputType('CreateDepartmentInput', {
  description: 'A new support department.',
  fields: (t) => ({
    name: t.string({ required: true, description: '1 to 100 characters; unique.' }),
    timeZone: t.string({ required: true, description: 'IANA time zone, e.g. "Europe/Madrid".' }),
    weeklyHours: t.field({ type: [OpeningHoursInput], required: true, description: 'At most 70 intervals. Empty: around the clock.' }),
    holidays: t.stringList({
      description: `Local dates "YYYY-MM-DD" the department is closed; at most ${departments.MAX_HOLIDAYS}, duplicates dropped.`,
      extensions: { maxItems: departments.MAX_HOLIDAYS },
    }),
    autoAssign: t.boolean({ description: 'Round-robin assignment among on-duty members. Defaults to false.' }),
  }),
});
const UpdateDepartmentInput = builder.inputType('UpdateDepartmentInput', {
  description: 'Changes to a department, with the rules of CreateDepartmentInput; omitted fields keep their value.',
  fields: (t) => ({
    departmentId: t.id({ required: true, description: 'The global id of the Department.' }),
    name: t.string({ description: '1 to 100 characters; unique.' }),
    timeZone: t.string({ description: 'IANA time zone, e.g. "Europe/Madrid".' }),
    weeklyHours: t.field({ type: [OpeningHoursInput], description: 'Replaces the whole schedule.' }),
    holidays: t.stringList({ description: 'Replaces the whole list.', extensions: { maxItems: departments.MAX_HOLIDAYS } }),
    autoAssign: t.boolean({ description: 'Round-robin assignment among on-duty members.' }),
  }),
});
const SetOnDutyInput = builder.inputType('SetOnDutyInput', {
  description: 'Whether a department member takes automatically assigned cases.',
  fields: (t) => ({
    departmentId: t.id({ required: true, description: 'The global id of the Department.' }),
    userId: t.id({ description: 'Yourself when omitted; managers and admins may set anyone.' }),
    onDuty: t.boolean({ required: true, description: 'true: takes automatically assigned cases; false: takes none.' }),
  }),
});
const AddDepartmentMemberInput = builder.inputType('AddDepartmentMemberInput', {
  description: 'A member to add to a department, or an existing member whose lead flag changes. New members start off duty.',
  fields: (t) => ({
    departmentId: t.id({ required: true, description: 'The global id of the Department.' }),
    userId: t.id({ required: true, description: 'An AGENT, COMMUNITY_MANAGER or ADMIN.' }),
    lead: t.boolean({ description: 'Defaults to false for a new member; given for an existing one, changes it.' }),
  }),
});
const RemoveDepartmentMemberInput = builder.inputType('RemoveDepartmentMemberInput', {
  description: 'A member to remove from a department; the cases assigned to them there become unassigned.',
  fields: (t) => ({
    departmentId: t.id({ required: true, description: 'The global id of the Department.' }),
    userId: t.id({ required: true, description: 'The global id of the User to remove.' }),
  }),
});
const SlaTargetInput = builder.inputType('SlaTargetInput', {
  description: 'The targets for one priority, each 1 to 525600 business minutes (see SlaTarget).',
  fields: (t) => ({
    priority: t.field({ type: CasePriorityEnum, required: true, description: 'The case priority these targets apply to.' }),
    firstResponseMinutes: t.int({ required: true, description: 'From opening to the first public reply of staff.' }),
    nextResponseMinutes: t.int({ required: true, description: 'To answer each later message of the requester.' }),
    periodicUpdateMinutes: t.int({ required: true, description: 'Longest silence towards the requester while the case is open.' }),
    resolutionMinutes: t.int({ required: true, description: 'From opening to RESOLVED or CLOSED, not counting time PENDING or ON_HOLD.' }),
  }),
});
const CreateSupportChannelInput = builder.inputType('CreateSupportChannelInput', {
  description: 'A new support channel.',
  fields: (t) => ({
    name: t.string({ required: true, description: '1 to 100 characters; unique.' }),
    kind: t.field({ type: SupportChannelKindEnum, required: true, description: 'How requests reach it.' }),
    defaultDepartmentId: t.id({ required: true, description: 'The Department that handles its cases unless routing says otherwise.' }),
    spaceId: t.id({ description: 'The forum space of this channel.' }),
    active: t.boolean({ description: 'Defaults to true.' }),
    slaPolicy: t.field({ type: [SlaTargetInput], description: 'At most one target per priority; defaults to none (no SLA).' }),
  }),
});
const UpdateSupportChannelInput = builder.inputType('UpdateSupportChannelInput', {
  description: 'Changes to a channel, with the rules of CreateSupportChannelInput; omitted fields keep their value.',
  fields: (t) => ({
    channelId: t.id({ required: true, description: 'The global id of the SupportChannel.' }),
    name: t.string({ description: '1 to 100 characters; unique.' }),
    kind: t.field({ type: SupportChannelKindEnum, description: 'How requests reach it.' }),
    defaultDepartmentId: t.id({ description: 'For cases opened from now on.' }),
    spaceId: t.id({ description: 'Pass null explicitly to unlink the space.' }),
    active: t.boolean({ description: 'false: the channel takes no new cases and is listed for staff only.' }),
    slaPolicy: t.field({ type: [SlaTargetInput], description: 'Replaces the whole policy.' }),
  }),
});

const RotateIngestSecretInput = builder.inputType('RotateSupportChannelIngestSecretInput', {
  description: 'The channel whose inbound hook gets a new secret.',
  fields: (t) => ({ channelId: t.id({ required: true, description: 'The global id of the SupportChannel.' }) }),
});
const RotateIngestSecretPayload = builder.simpleObject('RotateSupportChannelIngestSecretPayload', {
  description: 'What rotateSupportChannelIngestSecret answers when it succeeds.',
  fields: (t) => ({
    channel: t.field({ type: SupportChannelType, description: 'The channel, now with ingestEnabled true.' }),
    secret: t.string({
      description:
        'Shown this once. Sign each POST /ingest/cases with it: X-Tertulia-Timestamp (Unix seconds) and X-Tertulia-Signature (sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">).',
    }),
  }),
});

const DepartmentPayload = builder.simpleObject('DepartmentPayload', { fields: (t) => ({ department: t.field({ type: DepartmentType }) }) });
const SupportChannelPayload = builder.simpleObject('SupportChannelPayload', {
  fields: (t) => ({ channel: t.field({ type: SupportChannelType }) }),
});

const departmentId = (id: string, path = 'input.departmentId') => decodeId(id, ['Department'], path).id;
const userId = (id: string) => decodeId(id, ['User'], 'input.userId').id;

builder.mutationFields((t) => ({
  setOnDuty: t.field({
    type: DepartmentPayload,
    description: 'A member goes on or off duty in a department (managers and admins: for anyone).',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: SetOnDutyInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      department: await setOnDuty(ctx.viewer, {
        departmentId: departmentId(input.departmentId),
        userId: input.userId ? userId(input.userId) : undefined,
        onDuty: input.onDuty,
      }),
    }),
  }),
  rotateSupportChannelIngestSecret: t.field({
    type: RotateIngestSecretPayload,
    description:
      'COMMUNITY_MANAGER or ADMIN: a new secret for the channel\'s inbound hook (POST /ingest/cases, header X-Tertulia-Signature: sha256=<hex>); the previous one stops working.',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: RotateIngestSecretInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const channelId = decodeId(input.channelId, ['SupportChannel'], 'input.channelId').id;
      const secret = await rotateIngestSecret(ctx.viewer, channelId);
      return { secret, channel: await prisma().supportChannel.findUniqueOrThrow({ where: { id: channelId } }) };
    },
  }),
  createDepartment: t.field({
    type: DepartmentPayload,
    description: 'COMMUNITY_MANAGER or ADMIN.',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: CreateDepartmentInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({ department: await departments.createDepartment(ctx.viewer, input) }),
  }),
  updateDepartment: t.field({
    type: DepartmentPayload,
    description: 'COMMUNITY_MANAGER or ADMIN. Omitted fields keep their value.',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: UpdateDepartmentInput, required: true }) },
    resolve: async (_root, { input: { departmentId: id, ...changes } }, ctx) => ({
      department: await departments.updateDepartment(ctx.viewer, departmentId(id), changes),
    }),
  }),
  addDepartmentMember: t.field({
    type: DepartmentPayload,
    description: 'COMMUNITY_MANAGER or ADMIN.',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: AddDepartmentMemberInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      department: await departments.addDepartmentMember(ctx.viewer, {
        departmentId: departmentId(input.departmentId),
        userId: userId(input.userId),
        lead: input.lead,
      }),
    }),
  }),
  removeDepartmentMember: t.field({
    type: DepartmentPayload,
    description:
      "COMMUNITY_MANAGER or ADMIN. The cases the member held there are unassigned, or given to the next on-duty agent where the department auto-assigns.",
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: RemoveDepartmentMemberInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      department: await departments.removeDepartmentMember(ctx.viewer, {
        departmentId: departmentId(input.departmentId),
        userId: userId(input.userId),
      }),
    }),
  }),
  createSupportChannel: t.field({
    type: SupportChannelPayload,
    description: 'COMMUNITY_MANAGER or ADMIN.',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: CreateSupportChannelInput, required: true }) },
    resolve: async (_root, { input }, ctx) => ({
      channel: await channels.createSupportChannel(ctx.viewer, {
        ...input,
        defaultDepartmentId: departmentId(input.defaultDepartmentId, 'input.defaultDepartmentId'),
        spaceId: input.spaceId ? decodeId(input.spaceId, ['Space'], 'input.spaceId').id : null,
      }),
    }),
  }),
  updateSupportChannel: t.field({
    type: SupportChannelPayload,
    description: 'COMMUNITY_MANAGER or ADMIN. Omitted fields keep their value.',
    errors: { types: WRITE_ERRORS },
    args: { input: t.arg({ type: UpdateSupportChannelInput, required: true }) },
    resolve: async (_root, { input: { channelId, spaceId, defaultDepartmentId, ...changes } }, ctx) => ({
      channel: await channels.updateSupportChannel(ctx.viewer, decodeId(channelId, ['SupportChannel'], 'input.channelId').id, {
        ...changes,
        ...(defaultDepartmentId != null && { defaultDepartmentId: departmentId(defaultDepartmentId, 'input.defaultDepartmentId') }),
        // An explicit null unlinks; an omitted field (undefined) keeps the space.
        ...(spaceId !== undefined && { spaceId: spaceId === null ? null : decodeId(spaceId, ['Space'], 'input.spaceId').id }),
      }),
    }),
  }),
}));
