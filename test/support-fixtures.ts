import { type Actor } from './fixtures.js';
import { graphql } from './gql/index.js';
import type { CreateDepartmentInput, CreateSupportChannelInput } from './gql/graphql.js';
import type { TestApp } from './helpers.js';

const CreateDepartmentFixture = graphql(`
  mutation CreateDepartmentFixture($input: CreateDepartmentInput!) {
    createDepartment(input: $input) { __typename ... on DepartmentPayload { department { id } } ... on Error { message } }
  }
`);
const AddMemberFixture = graphql(`
  mutation AddMemberFixture($input: AddDepartmentMemberInput!) {
    addDepartmentMember(input: $input) { __typename ... on Error { message } }
  }
`);
const CreateChannelFixture = graphql(`
  mutation CreateChannelFixture($input: CreateSupportChannelInput!) {
    createSupportChannel(input: $input) { __typename ... on SupportChannelPayload { channel { id } } ... on Error { message } }
  }
`);

/** Monday to Friday, 09:00 to 17:00. */
export const OFFICE_HOURS = (['MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY'] as const).map((day) => ({
  day,
  opens: '09:00',
  closes: '17:00',
}));

export async function createDepartment(
  t: TestApp,
  manager: Actor,
  input: Partial<CreateDepartmentInput> & { name: string },
  members: { actor: Actor; lead?: boolean }[] = [],
): Promise<string> {
  const { createDepartment } = await t.query(
    CreateDepartmentFixture,
    { input: { timeZone: 'UTC', weeklyHours: [], ...input } },
    manager.token,
  );
  if (createDepartment.__typename !== 'DepartmentPayload') throw new Error(JSON.stringify(createDepartment));
  for (const { actor, lead } of members) {
    const { addDepartmentMember } = await t.query(
      AddMemberFixture,
      { input: { departmentId: createDepartment.department.id, userId: actor.id, lead } },
      manager.token,
    );
    if (addDepartmentMember.__typename !== 'DepartmentPayload') throw new Error(JSON.stringify(addDepartmentMember));
  }
  return createDepartment.department.id;
}

export async function createChannel(
  t: TestApp,
  manager: Actor,
  input: Partial<CreateSupportChannelInput> & { name: string; defaultDepartmentId: string },
): Promise<string> {
  const { createSupportChannel } = await t.query(CreateChannelFixture, { input: { kind: 'WEB_FORM', ...input } }, manager.token);
  if (createSupportChannel.__typename !== 'SupportChannelPayload') throw new Error(JSON.stringify(createSupportChannel));
  return createSupportChannel.channel.id;
}
