import { buildSchema, parse, type GraphQLObjectType } from 'graphql';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Community, createCommunity, createThread, reply } from './fixtures.js';
import { graphql } from './gql/index.js';
import { startTestApp, type TestApp } from './helpers.js';
import { createChannel, createDepartment } from './support-fixtures.js';

// Bad input through the public API: every refusal is a typed error naming the field at fault,
// and leaves the data, and the activity log, as they were.

const NUL = 'before\u0000after';
const NUL_MESSAGE = 'must not contain the NUL character (U+0000)';

const LastActivity = graphql(`query InputLastActivity { activityLog(last: 1) { nodes { id } } }`);
const SpaceBySlug = graphql(`query InputSpaceBySlug($slug: String!) { space(slug: $slug) { id name description } }`);
const ThreadNode = graphql(`
  query InputThreadNode($id: ID!) { node(id: $id) { ... on Thread { title body replyCount } } }
`);
const Search = graphql(`query InputSearch($query: String!) { search(query: $query, first: 5) { totalCount } }`);
const MentionSearch = graphql(`
  query InputMentionSearch($query: String) { mentions(first: 5, filter: { query: $query }) { totalCount } }
`);
const OpenCase = graphql(`
  mutation InputOpenCase($input: OpenCaseInput!) {
    openCase(input: $input) { __typename ... on SupportCasePayload { supportCase { id } } }
  }
`);
const CreateSource = graphql(`
  mutation InputCreateSource($input: CreateListeningSourceInput!) {
    createListeningSource(input: $input) { __typename ... on CreateListeningSourcePayload { source { id } } }
  }
`);

type Refusal = { __typename: string; message?: string; fieldErrors?: { path: string[]; message: string }[] };

const schema = buildSchema(readFileSync('schema.graphql', 'utf8'));
const mutations = (schema.getMutationType() as GraphQLObjectType).getFields();

let t: TestApp;
let c: Community;
let thread: string;
let post: string;
let department: string;
let channel: string;
let supportCase: string;
let source: string;

/** Any mutation by name, selecting its result's type and error fields (the sweeps below go over many). */
/** The errors of a mutation refused before it runs (a list over its cap). */
async function refusedList(name: string, input: Record<string, unknown>, token: string) {
  const inputType = mutations[name].args[0].type.toString();
  const document = parse(`mutation Probe($input: ${inputType}) { result: ${name}(input: $input) { __typename } }`);
  const response = await t.request(document as never, { input } as never, token);
  expect(response.data).toBeUndefined();
  return response.errors;
}

async function mutate(name: string, input: Record<string, unknown>, token: string): Promise<Refusal> {
  const inputType = mutations[name].args[0].type.toString();
  const document = parse(`
    mutation Probe($input: ${inputType}) {
      result: ${name}(input: $input) {
        __typename
        ... on Error { message }
        ... on ValidationError { fieldErrors { path message } }
      }
    }
  `);
  const response = await t.request(document as never, { input } as never, token);
  expect(response.errors).toBeUndefined();
  return (response.data as unknown as { result: Refusal }).result;
}

const lastActivityId = async () => (await t.query(LastActivity, {}, c.admin.token)).activityLog.nodes[0]?.id;

beforeAll(async () => {
  t = await startTestApp();
  c = await createCommunity(t);
  thread = await createThread(t, c.alice, c.publicSpace, 'Original title', 'Original body');
  post = await reply(t, c.bob, thread, 'Original reply');
  department = await createDepartment(t, c.manager, { name: 'Billing' }, [{ actor: c.agent }]);
  channel = await createChannel(t, c.manager, { name: 'Web', defaultDepartmentId: department });
  const { openCase } = await t.query(OpenCase, { input: { channelId: channel, subject: 'Charged twice', body: 'In November.' } }, c.alice.token);
  if (openCase.__typename !== 'SupportCasePayload') throw new Error(openCase.__typename);
  supportCase = openCase.supportCase!.id;
  const { createListeningSource } = await t.query(CreateSource, { input: { name: 'Hook', kind: 'WEBHOOK' } }, c.manager.token);
  if (createListeningSource.__typename !== 'CreateListeningSourcePayload') throw new Error(createListeningSource.__typename);
  source = createListeningSource.source.id;
});
afterAll(() => t?.stop());

describe('NUL characters (PostgreSQL text cannot hold them)', () => {
  it('are a ValidationError on the field at fault in every mutation, and nothing is written', async () => {
    const probes: [mutation: string, input: Record<string, unknown>, token: string, path: string[]][] = [
      ['signUp', { email: 'nul@example.com', password: 'a long enough password', displayName: NUL }, '', ['input', 'displayName']],
      ['createSpace', { name: 'Nul', slug: 'nul', description: NUL }, c.manager.token, ['input', 'description']],
      ['updateSpace', { spaceId: c.publicSpace, name: NUL }, c.manager.token, ['input', 'name']],
      ['createThread', { spaceId: c.publicSpace, title: 'Fine', body: NUL }, c.alice.token, ['input', 'body']],
      ['editThread', { threadId: thread, title: NUL }, c.alice.token, ['input', 'title']],
      ['replyToThread', { threadId: thread, body: NUL }, c.alice.token, ['input', 'body']],
      ['editPost', { postId: post, body: NUL }, c.bob.token, ['input', 'body']],
      ['reportContent', { subjectId: post, reason: 'SPAM', note: NUL }, c.alice.token, ['input', 'note']],
      ['hideContent', { subjectId: post, classifier: 'SPAM', reason: NUL }, c.moderator.token, ['input', 'reason']],
      ['removeContent', { subjectId: post, reason: NUL }, c.moderator.token, ['input', 'reason']],
      ['lockThread', { threadId: thread, reason: 'TOO_HEATED', note: NUL }, c.moderator.token, ['input', 'note']],
      ['warnUser', { userId: c.alice.id, reason: NUL }, c.moderator.token, ['input', 'reason']],
      ['createAutomodRule', { name: 'Words', trigger: 'KEYWORD', action: 'FLAG', keywords: ['fine', NUL] }, c.manager.token, ['input', 'keywords', '1']],
      ['createAutomodRule', { name: 'Pattern', trigger: 'PATTERN', action: 'FLAG', pattern: NUL }, c.manager.token, ['input', 'pattern']],
      ['createDepartment', { name: NUL, timeZone: 'UTC', weeklyHours: [] }, c.manager.token, ['input', 'name']],
      ['createSupportChannel', { name: NUL, kind: 'EMAIL', defaultDepartmentId: department }, c.manager.token, ['input', 'name']],
      ['updateSupportChannel', { channelId: channel, name: NUL }, c.manager.token, ['input', 'name']],
      ['openCase', { channelId: channel, subject: NUL, body: 'Fine' }, c.alice.token, ['input', 'subject']],
      ['replyToCase', { caseId: supportCase, body: NUL }, c.alice.token, ['input', 'body']],
      ['escalateCase', { caseId: supportCase, reason: NUL }, c.agent.token, ['input', 'reason']],
      ['openCaseFromThread', { threadId: thread, channelId: channel, reason: NUL }, c.agent.token, ['input', 'reason']],
      ['createRoutingRule', { name: 'Tags', tags: ['fine', NUL] }, c.manager.token, ['input', 'tags', '1']],
      ['createTrackedBrand', { name: 'Brand', kind: 'OWN', keywords: [NUL] }, c.manager.token, ['input', 'keywords', '0']],
      ['createListeningSource', { name: 'Feed', kind: 'RSS', url: `https://example.com/${NUL}` }, c.manager.token, ['input', 'url']],
      ['ingestMentions', { sourceId: source, mentions: [{ externalId: 'a', body: 'Fine' }, { externalId: 'b', body: NUL }] }, c.manager.token, ['input', 'mentions', '1', 'body']],
      ['createListeningAlertRule', { name: 'Word', kind: 'KEYWORD', keyword: NUL }, c.manager.token, ['input', 'keyword']],
    ];
    const before = await lastActivityId();
    for (const [mutation, input, token, path] of probes) {
      expect({ mutation, result: await mutate(mutation, input, token) }).toEqual({
        mutation,
        result: { __typename: 'ValidationError', message: `${path.join('.')}: ${NUL_MESSAGE}`, fieldErrors: [{ path, message: NUL_MESSAGE }] },
      });
    }
    expect(await lastActivityId()).toBe(before);
    expect((await t.query(SpaceBySlug, { slug: 'general' })).space).toMatchObject({ name: 'general', description: '' });
    expect((await t.query(ThreadNode, { id: thread }, c.alice.token)).node).toEqual({ title: 'Original title', body: 'Original body', replyCount: 1 });
  });

  it('in search text and slugs are a typed error or no match, never an internal error', async () => {
    const search = await t.request(Search, { query: `refund ${NUL}` });
    expect(search.errors).toEqual([expect.objectContaining({ message: `query: ${NUL_MESSAGE}`, extensions: { code: 'VALIDATION' } })]);
    const mentions = await t.request(MentionSearch, { query: NUL }, c.agent.token);
    expect(mentions.errors).toEqual([expect.objectContaining({ message: `filter.query: ${NUL_MESSAGE}`, extensions: { code: 'VALIDATION' } })]);
    expect(await t.request(SpaceBySlug, { slug: `general${NUL}` })).toEqual({ data: { space: null } });
  });

  it('in a password at sign-in are only compared (never stored), so the answer is the usual one', async () => {
    expect(await mutate('signIn', { email: 'alice@example.com', password: NUL }, '')).toEqual({
      __typename: 'InvalidCredentialsError',
      message: 'Email or password is incorrect',
    });
  });
});

describe('messages', () => {
  it('name each field left out, too long or malformed once, in words rather than the parser\'s', async () => {
    expect(await mutate('createAutomodRule', { name: null }, c.manager.token)).toEqual({
      __typename: 'ValidationError',
      message: 'input.name: is required; input.trigger: is required; input.action: is required',
      fieldErrors: [
        { path: ['input', 'name'], message: 'is required' },
        { path: ['input', 'trigger'], message: 'is required' },
        { path: ['input', 'action'], message: 'is required' },
      ],
    });
    expect(await mutate('signIn', { email: 'alice@example.com', password: 'x'.repeat(513) }, '')).toMatchObject({
      __typename: 'ValidationError',
      fieldErrors: [{ path: ['input', 'password'], message: 'must be at most 512 characters' }],
    });
    expect(await mutate('createListeningSource', { name: 'Feed', kind: 'RSS', url: 'not a url' }, c.manager.token)).toMatchObject({
      __typename: 'ValidationError',
      fieldErrors: [{ path: ['input', 'url'], message: 'must be an http(s) URL' }],
    });
    // Over its cap, a list is refused before anything runs (test/limits.test.ts).
    const channels = Array.from({ length: 101 }, () => channel);
    expect(await refusedList('createRoutingRule', { name: 'Many', tags: ['vip'], channelIds: channels }, c.manager.token)).toEqual([
      { message: '`createRoutingRule(input).channelIds` takes at most 100 items, got 101', extensions: { code: 'LIST_TOO_LONG' } },
    ]);
  });
});

const Metrics = graphql(`
  query InputMetrics($from: DateTime!, $to: DateTime!) { supportMetrics(from: $from, to: $to) { from } }
`);

describe('date-times', () => {
  it('are real RFC 3339 instants with an offset and seconds: no rolled-over dates, bare years or server-local times', async () => {
    const DATE_TIME_ERROR = 'DateTime must be an ISO-8601 date-time with a time zone offset, e.g. 2026-11-23T18:44:31.000Z';
    for (const from of ['2026-02-30T00:00:00Z', '2026-13-01T00:00:00Z', '2026-01-01T24:30:00Z', '2026', '2026-01-01', '2026-01-01T00:00:00', 'Jan 1 2026 00:00 GMT', 'yesterday', '2026-02-01T00:00Z']) {
      const result = await t.request(Metrics, { from, to: '2026-03-01T00:00:00Z' }, c.manager.token);
      expect({ from, errors: result.errors?.map((e) => e.message.replace(/^Variable "\$from" got invalid value .*?; /, '')) }).toEqual({ from, errors: [DATE_TIME_ERROR] });
    }
    for (const from of ['2024-02-29T00:00:00Z', '2026-02-28T23:59:59.999+01:00', '2026-02-01t00:00:00z']) {
      const result = await t.request(Metrics, { from, to: '2026-03-01T00:00:00Z' }, c.manager.token);
      expect({ from, errors: result.errors }).toEqual({ from, errors: undefined });
    }
  });
});

const Report = graphql(`
  query InputReport($from: DateTime!, $to: DateTime!) { listeningReport(from: $from, to: $to, bucket: DAY) { volume } }
`);

describe('date-times out of range', () => {
  it('are refused before years 0001 and after 9999 (UTC), offsets applied, with a clear error rather than a database one', async () => {
    const RANGE_ERROR = 'DateTime must be between years 0001 and 9999 (UTC)';
    const messages = (result: { errors?: readonly { message: string }[] }) =>
      result.errors?.map((e) => e.message.replace(/^Variable "\$from" got invalid value .*?; /, ''));
    // 00:30 at +01:00 on 1 January of year 1 is still year 0 in UTC.
    for (const from of ['0000-01-01T00:00:00Z', '0000-12-31T23:59:59.999Z', '0001-01-01T00:30:00+01:00']) {
      const metrics = await t.request(Metrics, { from, to: '2026-03-01T00:00:00Z' }, c.manager.token);
      const report = await t.request(Report, { from, to: '2026-03-01T00:00:00Z' }, c.manager.token);
      expect({ from, metrics: messages(metrics), report: messages(report) }).toEqual({ from, metrics: [RANGE_ERROR], report: [RANGE_ERROR] });
    }
    // The first days of year 1 and the last of 9999 are fine.
    const first = await t.request(Report, { from: '0001-01-01T00:00:00Z', to: '0001-01-03T00:00:00Z' }, c.manager.token);
    expect(first).toEqual({ data: { listeningReport: [] } });
    const last = await t.request(Metrics, { from: '9999-12-30T00:00:00Z', to: '9999-12-31T23:59:59.999Z' }, c.manager.token);
    expect(last).toEqual({ data: { supportMetrics: { from: '9999-12-30T00:00:00.000Z' } } });
    const literal = await t.request(graphql(`query InputReportLiteral { listeningReport(from: "0000-06-01T00:00:00Z", to: "2026-01-01T00:00:00Z", bucket: DAY) { volume } }`), {}, c.manager.token);
    expect(literal.errors?.map((e) => e.message)).toEqual([RANGE_ERROR]);
  });
});

describe('ill-formed Unicode', () => {
  const LONE = ['high \ud800 alone', 'low \udc00 alone', 'reversed \udc00\ud800 pair'];
  const ILL_FORMED = 'must be well-formed Unicode text (it holds a lone UTF-16 surrogate, such as \\ud800)';

  it('in any string, list item or nested input is a ValidationError on that field, and nothing is written', async () => {
    const probes: [string, Record<string, unknown>, string, string[]][] = [
      ['createRoutingRule', { name: 'Tags', tags: ['fine', LONE[0]] }, c.manager.token, ['input', 'tags', '1']],
      ['createTrackedBrand', { name: 'Brand', kind: 'OWN', keywords: [LONE[1]] }, c.manager.token, ['input', 'keywords', '0']],
      ['createThread', { spaceId: c.publicSpace, title: LONE[2], body: 'Fine' }, c.alice.token, ['input', 'title']],
      ['openCase', { channelId: channel, subject: 'Fine', body: LONE[0] }, c.alice.token, ['input', 'body']],
      ['ingestMentions', { sourceId: source, mentions: [{ externalId: 'a', body: 'Fine' }, { externalId: LONE[1], body: 'Fine' }] }, c.manager.token, ['input', 'mentions', '1', 'externalId']],
    ];
    const before = await lastActivityId();
    for (const [mutation, input, token, path] of probes) {
      expect({ mutation, result: await mutate(mutation, input, token) }).toEqual({
        mutation,
        result: { __typename: 'ValidationError', message: `${path.join('.')}: ${ILL_FORMED}`, fieldErrors: [{ path, message: ILL_FORMED }] },
      });
    }
    expect(await lastActivityId()).toBe(before);
    const search = await t.request(Search, { query: LONE[0] });
    expect(search.errors).toEqual([expect.objectContaining({ message: `query: ${ILL_FORMED}`, extensions: { code: 'VALIDATION' } })]);
  });

  it('is told apart from well-formed pairs (emoji), which are kept as written', async () => {
    const title = 'Pairs are fine 😀 𝄞';
    const id = await createThread(t, c.alice, c.publicSpace, title, 'Body 🎉');
    expect((await t.query(ThreadNode, { id }, c.alice.token)).node).toEqual({ title, body: 'Body 🎉', replyCount: 0 });
  });
});

describe('passwords', () => {
  it('that are trivial or common are refused at sign-up on input.password, saying why, and no account is made', async () => {
    const cases: [string, string][] = [
      ['          ', 'Repeated characters like "aaa" are easy to guess'],
      ['aaaaaaaaaa', 'Repeated characters like "aaa" are easy to guess'],
      ['1234567890', 'This is a frequently used password'],
      ['password123', 'This is a commonly used password'],
      ['qwertyuiop', 'This is a frequently used password'],
    ];
    for (const [password, warning] of cases) {
      const message = `is too easy to guess (${warning}); use a longer passphrase, such as four or more unrelated words`;
      expect({ password, result: await mutate('signUp', { email: 'weak@example.com', password, displayName: 'Weak' }, '') }).toEqual({
        password,
        result: { __typename: 'ValidationError', message: `input.password: ${message}`, fieldErrors: [{ path: ['input', 'password'], message }] },
      });
    }
    // The account's own email and name count as known to an attacker.
    const own = await mutate('signUp', { email: 'marguerite.yourcenar@example.com', password: 'marguerite.yourcenar', displayName: 'Marguerite' }, '');
    expect(own).toMatchObject({ __typename: 'ValidationError', fieldErrors: [{ path: ['input', 'password'] }] });
    expect(await mutate('signIn', { email: 'weak@example.com', password: 'aaaaaaaaaa' }, '')).toEqual({
      __typename: 'InvalidCredentialsError',
      message: 'Email or password is incorrect',
    });
    // A passphrase passes.
    expect((await mutate('signUp', { email: 'strong@example.com', password: 'lantern orchard seventeen', displayName: 'Strong' }, '')).__typename).toBe('AccountEmailPayload');
  });
});

describe('lists', () => {
  it('refuse brand keywords that could never match and exempt-space lists without a bound, writing nothing', async () => {
    const before = await lastActivityId();
    expect(await mutate('createTrackedBrand', { name: 'Punctuation', kind: 'OWN', keywords: ['tertulia', '!!!'], exclusionKeywords: ['--'] }, c.manager.token)).toEqual({
      __typename: 'ValidationError',
      message: 'input.keywords.1: must contain a word; input.exclusionKeywords.0: must contain a word',
      fieldErrors: [
        { path: ['input', 'keywords', '1'], message: 'must contain a word' },
        { path: ['input', 'exclusionKeywords', '0'], message: 'must contain a word' },
      ],
    });
    const spaces = Array.from({ length: 101 }, () => c.publicSpace);
    expect(await refusedList('createAutomodRule', { name: 'Links', trigger: 'LINK', action: 'HOLD', minPosts: 1, exemptSpaceIds: spaces }, c.manager.token)).toEqual([
      { message: '`createAutomodRule(input).exemptSpaceIds` takes at most 100 items, got 101', extensions: { code: 'LIST_TOO_LONG' } },
    ]);
    expect(await lastActivityId()).toBe(before);
  });
});
