import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Actor, createCommunity } from './fixtures.js';
import { graphql } from './gql/index.js';
import { startTestApp, type TestApp } from './helpers.js';
import { createChannel, createDepartment, OFFICE_HOURS } from './support-fixtures.js';

const CreateDepartment = graphql(`
  mutation SetupCreateDepartment($input: CreateDepartmentInput!) {
    createDepartment(input: $input) {
      __typename
      ... on DepartmentPayload { department { id name timeZone weeklyHours { day opens closes } holidays } }
      ... on ValidationError { message fieldErrors { path message } }
      ... on Error { message }
    }
  }
`);
const UpdateDepartment = graphql(`
  mutation SetupUpdateDepartment($input: UpdateDepartmentInput!) {
    updateDepartment(input: $input) {
      __typename
      ... on DepartmentPayload { department { name timeZone weeklyHours { day opens closes } holidays } }
      ... on Error { message }
    }
  }
`);
const AddMember = graphql(`
  mutation SetupAddMember($input: AddDepartmentMemberInput!) {
    addDepartmentMember(input: $input) {
      __typename
      ... on DepartmentPayload { department { members { user { id displayName } lead } } }
      ... on ValidationError { message fieldErrors { path message } }
      ... on Error { message }
    }
  }
`);
const RemoveMember = graphql(`
  mutation SetupRemoveMember($input: RemoveDepartmentMemberInput!) {
    removeDepartmentMember(input: $input) {
      __typename
      ... on DepartmentPayload { department { members { user { id } lead } } }
      ... on Error { message }
    }
  }
`);
const DepartmentNode = graphql(`
  query SetupDepartmentNode($id: ID!) {
    node(id: $id) { __typename ... on Department { name members { user { id } lead } } }
  }
`);
const Departments = graphql(`query SetupDepartments { departments(first: 10) { totalCount nodes { name } } }`);
const CreateChannel = graphql(`
  mutation SetupCreateChannel($input: CreateSupportChannelInput!) {
    createSupportChannel(input: $input) {
      __typename
      ... on SupportChannelPayload {
        channel {
          name kind active defaultDepartment { name } space { id }
          slaPolicy { priority firstResponseMinutes nextResponseMinutes periodicUpdateMinutes resolutionMinutes }
        }
      }
      ... on ValidationError { message fieldErrors { path message } }
      ... on Error { message }
    }
  }
`);
const UpdateChannel = graphql(`
  mutation SetupUpdateChannel($input: UpdateSupportChannelInput!) {
    updateSupportChannel(input: $input) {
      __typename
      ... on SupportChannelPayload { channel { name active space { id } slaPolicy { priority } } }
      ... on Error { message }
    }
  }
`);
const Channels = graphql(`
  query SetupChannels($includeInactive: Boolean) {
    supportChannels(first: 20, includeInactive: $includeInactive) { totalCount nodes { name kind active } }
  }
`);
const ChannelNode = graphql(`query SetupChannelNode($id: ID!) { node(id: $id) { __typename ... on SupportChannel { name } } }`);

let t: TestApp;
let admin: Actor;
let manager: Actor;
let moderator: Actor;
let agent: Actor;
let alice: Actor;
let publicSpace: string;
let staffSpace: string;

beforeAll(async () => {
  t = await startTestApp();
  ({ admin, manager, moderator, agent, alice, publicSpace, staffSpace } = await createCommunity(t));
});
afterAll(async () => {
  await t?.stop();
});

describe('departments', () => {
  it('are created by managers with business hours, normalised', async () => {
    const { createDepartment } = await t.query(
      CreateDepartment,
      {
        input: {
          name: ' Billing ',
          timeZone: 'Europe/Madrid',
          weeklyHours: [
            { day: 'TUESDAY', opens: '09:00', closes: '14:00' },
            { day: 'MONDAY', opens: '15:00', closes: '24:00' },
            { day: 'MONDAY', opens: '08:30', closes: '14:00' },
          ],
          holidays: ['2026-12-25', '2026-01-01', '2026-12-25'],
        },
      },
      manager.token,
    );
    expect(createDepartment).toEqual({
      __typename: 'DepartmentPayload',
      department: {
        id: expect.any(String),
        name: 'Billing',
        timeZone: 'Europe/Madrid',
        weeklyHours: [
          { day: 'MONDAY', opens: '08:30', closes: '14:00' },
          { day: 'MONDAY', opens: '15:00', closes: '24:00' },
          { day: 'TUESDAY', opens: '09:00', closes: '14:00' },
        ],
        holidays: ['2026-01-01', '2026-12-25'],
      },
    });
    const duplicate = await t.query(CreateDepartment, { input: { name: 'Billing', timeZone: 'UTC', weeklyHours: [] } }, admin.token);
    expect(duplicate.createDepartment).toEqual({ __typename: 'ConflictError', message: 'A department named "Billing" already exists' });
  });

  it('rejects bad hours, time zones and dates, naming each field', async () => {
    const before = (await t.query(Departments, {}, admin.token)).departments.totalCount;
    const { createDepartment } = await t.query(
      CreateDepartment,
      {
        input: {
          name: 'Broken',
          timeZone: 'Mars/Olympus',
          weeklyHours: [
            { day: 'MONDAY', opens: '09:00', closes: '17:00' },
            { day: 'MONDAY', opens: '16:00', closes: '18:00' },
            { day: 'FRIDAY', opens: '12:00', closes: '11:00' },
            { day: 'SUNDAY', opens: '9am', closes: '25:00' },
          ],
          holidays: ['2026-02-30'],
        },
      },
      manager.token,
    );
    expect(createDepartment).toEqual({
      __typename: 'ValidationError',
      message: expect.any(String),
      fieldErrors: [
        { path: ['input', 'timeZone'], message: 'must be an IANA time zone such as "Europe/Madrid"' },
        { path: ['input', 'weeklyHours', '3', 'opens'], message: 'must be a 24-hour time "HH:MM" from 00:00 to 24:00' },
        { path: ['input', 'weeklyHours', '3', 'closes'], message: 'must be a 24-hour time "HH:MM" from 00:00 to 24:00' },
        { path: ['input', 'weeklyHours', '1'], message: 'overlaps another interval on MONDAY' },
        { path: ['input', 'weeklyHours', '2', 'closes'], message: 'must be after opens' },
        { path: ['input', 'holidays', '0'], message: 'must be a date "YYYY-MM-DD"' },
      ],
    });
    const after = (await t.query(Departments, {}, admin.token)).departments;
    expect(after.totalCount).toBe(before);
    expect(after.nodes.map((node) => node.name)).not.toContain('Broken');
  });

  it('are managed by COMMUNITY_MANAGER and ADMIN only', async () => {
    const billing = await createDepartment(t, manager, { name: 'Guarded' });
    const input = { name: 'Nope', timeZone: 'UTC', weeklyHours: [] };
    for (const actor of [alice, moderator, agent]) {
      expect((await t.query(CreateDepartment, { input }, actor.token)).createDepartment).toEqual({
        __typename: 'ForbiddenError',
        message: 'Only a COMMUNITY_MANAGER or ADMIN can manage support departments and channels',
      });
      expect((await t.query(UpdateDepartment, { input: { departmentId: billing, name: 'Mine' } }, actor.token)).updateDepartment.__typename).toBe('ForbiddenError');
      expect((await t.query(AddMember, { input: { departmentId: billing, userId: actor.id } }, actor.token)).addDepartmentMember.__typename).toBe('ForbiddenError');
    }
    expect((await t.query(CreateDepartment, { input })).createDepartment.__typename).toBe('UnauthenticatedError');
    const listed = await t.request(Departments, {}, alice.token);
    expect(listed.errors?.[0]?.message).toBe('Your role does not allow this');
  });

  it('update only what is given', async () => {
    const billing = await createDepartment(t, manager, {
      name: 'Billing hours',
      timeZone: 'Europe/Madrid',
      weeklyHours: [{ day: 'TUESDAY', opens: '09:00', closes: '14:00' }],
      holidays: ['2026-12-25', '2026-01-01'],
    });
    const { updateDepartment } = await t.query(
      UpdateDepartment,
      { input: { departmentId: billing, timeZone: 'America/New_York', weeklyHours: OFFICE_HOURS.slice(0, 1) } },
      admin.token,
    );
    expect(updateDepartment).toEqual({
      __typename: 'DepartmentPayload',
      department: {
        name: 'Billing hours',
        timeZone: 'America/New_York',
        weeklyHours: [{ day: 'MONDAY', opens: '09:00', closes: '17:00' }],
        holidays: ['2026-01-01', '2026-12-25'],
      },
    });
  });

  it('take agents, managers and admins as members; leads are flagged; members are shown to staff only', async () => {
    const billing = await createDepartment(t, manager, { name: 'Billing team' });
    const added = await t.query(AddMember, { input: { departmentId: billing, userId: agent.id } }, manager.token);
    expect(added.addDepartmentMember).toEqual({
      __typename: 'DepartmentPayload',
      department: { members: [{ user: { id: agent.id, displayName: 'Agent' }, lead: false }] },
    });
    const lead = await t.query(AddMember, { input: { departmentId: billing, userId: manager.id, lead: true } }, manager.token);
    expect(lead.addDepartmentMember).toMatchObject({
      department: { members: [{ user: { id: agent.id }, lead: false }, { user: { id: manager.id }, lead: true }] },
    });
    // Adding again keeps the member once; `lead` given changes it.
    const promoted = await t.query(AddMember, { input: { departmentId: billing, userId: agent.id, lead: true } }, manager.token);
    expect(promoted.addDepartmentMember).toMatchObject({
      department: { members: [{ user: { id: agent.id }, lead: true }, { user: { id: manager.id }, lead: true }] },
    });
    for (const user of [alice, moderator]) {
      const refused = await t.query(AddMember, { input: { departmentId: billing, userId: user.id } }, manager.token);
      expect(refused.addDepartmentMember).toMatchObject({ __typename: 'ValidationError', fieldErrors: [{ path: ['input', 'userId'] }] });
    }
    const missing = await t.query(AddMember, { input: { departmentId: billing, userId: 'VXNlcjo5OTk5' } }, manager.token);
    expect(missing.addDepartmentMember).toEqual({ __typename: 'NotFoundError', message: 'User 9999 was not found' });

    expect((await t.query(DepartmentNode, { id: billing }, alice.token)).node).toEqual({ __typename: 'Department', name: 'Billing team', members: null });
    expect((await t.query(DepartmentNode, { id: billing }, moderator.token)).node).toMatchObject({ members: [{ lead: true }, { lead: true }] });

    const removed = await t.query(RemoveMember, { input: { departmentId: billing, userId: manager.id } }, admin.token);
    expect(removed.removeDepartmentMember).toEqual({ __typename: 'DepartmentPayload', department: { members: [{ user: { id: agent.id }, lead: true }] } });
    const again = await t.query(RemoveMember, { input: { departmentId: billing, userId: manager.id } }, admin.token);
    expect(again.removeDepartmentMember.__typename).toBe('NotFoundError');
  });
});

describe('support channels', () => {
  let department: string;

  beforeAll(async () => {
    department = await createDepartment(t, manager, { name: 'Front desk' });
  });

  it('are created with an SLA policy per priority', async () => {
    const { createSupportChannel } = await t.query(
      CreateChannel,
      {
        input: {
          name: 'Email',
          kind: 'EMAIL',
          defaultDepartmentId: department,
          spaceId: staffSpace,
          slaPolicy: [
            { priority: 'URGENT', firstResponseMinutes: 30, nextResponseMinutes: 60, periodicUpdateMinutes: 120, resolutionMinutes: 480 },
            { priority: 'NORMAL', firstResponseMinutes: 240, nextResponseMinutes: 480, periodicUpdateMinutes: 960, resolutionMinutes: 2400 },
          ],
        },
      },
      manager.token,
    );
    expect(createSupportChannel).toEqual({
      __typename: 'SupportChannelPayload',
      channel: {
        name: 'Email',
        kind: 'EMAIL',
        active: true,
        defaultDepartment: { name: 'Front desk' },
        space: { id: staffSpace },
        slaPolicy: [
          { priority: 'NORMAL', firstResponseMinutes: 240, nextResponseMinutes: 480, periodicUpdateMinutes: 960, resolutionMinutes: 2400 },
          { priority: 'URGENT', firstResponseMinutes: 30, nextResponseMinutes: 60, periodicUpdateMinutes: 120, resolutionMinutes: 480 },
        ],
      },
    });
  });

  it('reject a bad policy and unknown references without writing', async () => {
    const before = (await t.query(Channels, { includeInactive: true }, admin.token)).supportChannels.totalCount;
    const { createSupportChannel } = await t.query(
      CreateChannel,
      {
        input: {
          name: 'Phone',
          kind: 'PHONE',
          defaultDepartmentId: department,
          slaPolicy: [
            { priority: 'LOW', firstResponseMinutes: 0, nextResponseMinutes: 60, periodicUpdateMinutes: 60, resolutionMinutes: 60 },
            { priority: 'LOW', firstResponseMinutes: 10, nextResponseMinutes: 60, periodicUpdateMinutes: 60, resolutionMinutes: 600_000 },
          ],
        },
      },
      manager.token,
    );
    expect(createSupportChannel).toMatchObject({
      __typename: 'ValidationError',
      fieldErrors: [
        { path: ['input', 'slaPolicy', '0', 'firstResponseMinutes'], message: 'must be at least 1' },
        { path: ['input', 'slaPolicy', '1', 'resolutionMinutes'], message: 'must be at most 525600 (a year)' },
        { path: ['input', 'slaPolicy', '1', 'priority'], message: 'LOW is listed twice' },
      ],
    });
    const unknown = await t.query(CreateChannel, { input: { name: 'Phone', kind: 'PHONE', defaultDepartmentId: 'RGVwYXJ0bWVudDo5OTk=' } }, manager.token);
    expect(unknown.createSupportChannel).toEqual({ __typename: 'NotFoundError', message: 'Department 999 was not found' });
    const forbidden = await t.query(CreateChannel, { input: { name: 'Phone', kind: 'PHONE', defaultDepartmentId: department } }, agent.token);
    expect(forbidden.createSupportChannel.__typename).toBe('ForbiddenError');
    expect((await t.query(Channels, { includeInactive: true }, admin.token)).supportChannels.totalCount).toBe(before);
  });

  it('list the active ones to everyone; staff may include inactive ones', async () => {
    await createChannel(t, manager, { name: 'Listed open', kind: 'EMAIL', defaultDepartmentId: department });
    const closed = await createChannel(t, manager, { name: 'Listed closed', kind: 'CHAT', defaultDepartmentId: department, active: false });
    // Other tests of this describe add channels of their own: look at the two this one made.
    const listed = async (variables: { includeInactive?: boolean }, token?: string) =>
      (await t.query(Channels, variables, token)).supportChannels.nodes.filter((node) => node.name.startsWith('Listed '));
    const active = [{ name: 'Listed open', kind: 'EMAIL', active: true }];
    expect(await listed({})).toEqual(active);
    expect(await listed({ includeInactive: true }, alice.token)).toEqual(active);
    expect(await listed({ includeInactive: true }, agent.token)).toEqual([{ name: 'Listed closed', kind: 'CHAT', active: false }, ...active]);
    const counts = async (token?: string) => (await t.query(Channels, { includeInactive: true }, token)).supportChannels;
    const everyone = await counts(alice.token);
    expect(everyone.totalCount).toBe(everyone.nodes.filter((node) => node.active).length);
    expect((await counts(agent.token)).totalCount).toBeGreaterThan(everyone.totalCount);
    expect((await t.query(ChannelNode, { id: closed }, alice.token)).node).toBeNull();
    expect((await t.query(ChannelNode, { id: closed }, agent.token)).node).toEqual({ __typename: 'SupportChannel', name: 'Listed closed' });
  });

  it('update the given fields; the linked space is shown only to who may see it', async () => {
    const chat = await createChannel(t, manager, { name: 'Chat', kind: 'CHAT', defaultDepartmentId: department, active: false });
    const activated = await t.query(UpdateChannel, { input: { channelId: chat, active: true, spaceId: staffSpace, slaPolicy: [] } }, admin.token);
    expect(activated.updateSupportChannel).toEqual({
      __typename: 'SupportChannelPayload',
      channel: { name: 'Chat', active: true, space: { id: staffSpace }, slaPolicy: [] },
    });
    const Space = graphql(`query SetupChannelSpace($id: ID!) { node(id: $id) { ... on SupportChannel { space { id } } } }`);
    expect((await t.query(Space, { id: chat }, alice.token)).node).toEqual({ space: null });
    const unlinked = await t.query(UpdateChannel, { input: { channelId: chat, spaceId: null } }, admin.token);
    expect(unlinked.updateSupportChannel).toMatchObject({ channel: { space: null } });
    const relinked = await t.query(UpdateChannel, { input: { channelId: chat, spaceId: publicSpace } }, admin.token);
    expect(relinked.updateSupportChannel).toMatchObject({ channel: { space: { id: publicSpace } } });
    expect((await t.query(Space, { id: chat }, alice.token)).node).toEqual({ space: { id: publicSpace } });
  });

  it('have unique names', async () => {
    await createChannel(t, manager, { name: 'Taken', defaultDepartmentId: department });
    const other = await createChannel(t, manager, { name: 'Free', defaultDepartmentId: department });
    const renamed = await t.query(UpdateChannel, { input: { channelId: other, name: 'Taken' } }, admin.token);
    expect(renamed.updateSupportChannel).toEqual({ __typename: 'ConflictError', message: 'A support channel named "Taken" already exists' });
  });
});
