import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Actor, createCommunity, createThread, reply } from './fixtures.js';
import { graphql } from './gql/index.js';
import type { SearchQuery } from './gql/graphql.js';
import { startTestApp, type TestApp } from './helpers.js';

const Search = graphql(`
  query Search($query: String!, $first: Int, $after: String, $last: Int, $before: String) {
    search(query: $query, first: $first, after: $after, last: $last, before: $before) {
      totalCount
      edges {
        cursor
        node {
          __typename
          ... on Thread { id title }
          ... on Post { id body thread { id } }
        }
      }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }
`);
const SearchEditThread = graphql(`
  mutation SearchEditThread($input: EditThreadInput!) {
    editThread(input: $input) { __typename ... on Error { message } }
  }
`);

type Hit = SearchQuery['search']['edges'][number]['node'];

let t: TestApp;
let admin: Actor;
let manager: Actor;
let moderator: Actor;
let agent: Actor;
let alice: Actor;
let bob: Actor;
let publicSpace: string;
let membersSpace: string;
let staffSpace: string;

beforeAll(async () => {
  t = await startTestApp();
  ({ admin, manager, moderator, agent, alice, bob, publicSpace, membersSpace, staffSpace } = await createCommunity(t, { public: 'help', members: 'lounge', staff: 'backstage' }));
});
afterAll(async () => {
  await t?.stop();
});

/** One page of search results for `query` as seen by `token` (anonymous when null). */
async function search(query: string, token?: string | null, page: { first?: number; after?: string; last?: number; before?: string } = { first: 20 }) {
  return (await t.query(Search, { query, ...page }, token)).search;
}
async function hits(query: string, token?: string | null): Promise<Hit[]> {
  const result = await search(query, token, { first: 100 });
  expect(result.totalCount).toBe(result.edges.length);
  return result.edges.map((edge) => edge.node);
}
const thread = (id: string, title: string): Hit => ({ __typename: 'Thread', id, title });
const post = (id: string, body: string, threadId: string): Hit => ({ __typename: 'Post', id, body, thread: { id: threadId } });

describe('search', () => {
  it('finds English word forms: "exporting" finds "export", and the other way round', async () => {
    const exporting = await createThread(t, alice, publicSpace, 'Exporting invoices', 'Is there a button for it?');
    const exported = await createThread(t, bob, publicSpace, 'Where did my file go', 'I exported it yesterday.');
    const replyId = await reply(t, alice, exported, 'Every export lands in Downloads.');
    const importing = await createThread(t, bob, publicSpace, 'Importing contacts', 'From a spreadsheet.');

    const found = await hits('export', alice.token);
    expect(found).toHaveLength(3);
    expect(found[0]).toEqual(thread(exporting, 'Exporting invoices'));
    expect(found.slice(1)).toEqual(
      expect.arrayContaining([thread(exported, 'Where did my file go'), post(replyId, 'Every export lands in Downloads.', exported)]),
    );
    for (const form of ['exporting', 'exports', 'EXPORTED']) {
      expect((await hits(form, alice.token)).map((h) => h.id).sort(), form).toEqual([exporting, exported, replyId].sort());
    }
    // "importer" stems to "import": the importing thread, and none of the export ones.
    expect(await hits('importer', alice.token)).toEqual([thread(importing, 'Importing contacts')]);
  });

  it('finds Spanish word forms: "corriendo" finds "correr" and "corren", "niño" finds "niños"', async () => {
    const correr = await createThread(t, alice, publicSpace, 'Me gusta correr', 'Salgo cada mañana.');
    const corren = await createThread(t, bob, publicSpace, 'Carreras para niños', 'Los niños corren cada sábado en el parque.');
    const cancion = await createThread(t, bob, publicSpace, 'Canciones infantiles', 'Una canción para cada niño.');

    const running = await hits('corriendo', bob.token);
    expect(running).toEqual([thread(correr, 'Me gusta correr'), thread(corren, 'Carreras para niños')]);
    const child = await hits('niño', bob.token);
    expect(child).toEqual([thread(corren, 'Carreras para niños'), thread(cancion, 'Canciones infantiles')]);
    expect(await hits('canción', bob.token)).toEqual([thread(cancion, 'Canciones infantiles')]);
    // Accents are part of the word in both configurations: "niños" and "niño" stem alike.
    expect((await hits('niños', bob.token)).map((h) => h.id)).toEqual([corren, cancion]);
  });

  it('ranks a title match above body-only matches, and returns posts as hits', async () => {
    const inBody = await createThread(t, alice, publicSpace, 'Stargazing tips', 'Bring a telescope and a blanket.');
    const inTitle = await createThread(t, bob, publicSpace, 'Telescope alignment', 'How do I align it?');
    const twiceInPost = await reply(t, bob, inBody, 'My telescope fogs up; a telescope heater helps.');
    await reply(t, alice, inBody, 'Also bring coffee.');

    expect(await hits('telescopes', alice.token)).toEqual([
      thread(inTitle, 'Telescope alignment'),
      post(twiceInPost, 'My telescope fogs up; a telescope heater helps.', inBody),
      thread(inBody, 'Stargazing tips'),
    ]);

    // An edit re-indexes: the old words stop matching, the new ones match, and a title now ranks first.
    const edited = await t.query(SearchEditThread, { input: { threadId: inBody, title: 'Telescope and stargazing tips', body: 'Bring a blanket.' } }, alice.token);
    expect(edited.editThread.__typename).toBe('ThreadPayload');
    expect((await hits('blanket', alice.token)).map((h) => h.id)).toEqual([inBody]);
    const reranked = await hits('telescope', alice.token);
    expect(reranked.map((h) => h.id).slice(0, 2).sort()).toEqual([inTitle, inBody].sort());
    expect(reranked[2]).toEqual(post(twiceInPost, 'My telescope fogs up; a telescope heater helps.', inBody));
  });

  it('pages with first/after and last/before, with a totalCount of every match', async () => {
    const ids: string[] = [];
    for (let i = 1; i <= 5; i++) ids.push(await createThread(t, alice, publicSpace, `Quasar note ${i}`, 'Same rank for all.'));
    const newestFirst = [...ids].reverse();

    const page1 = await search('quasar', alice.token, { first: 2 });
    expect(page1.totalCount).toBe(5);
    expect(page1.edges.map((e) => e.node.id)).toEqual(newestFirst.slice(0, 2));
    expect(page1.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    const page2 = await search('quasar', alice.token, { first: 2, after: page1.pageInfo.endCursor! });
    expect(page2.totalCount).toBe(5);
    expect(page2.edges.map((e) => e.node.id)).toEqual(newestFirst.slice(2, 4));
    expect(page2.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: true });
    const page3 = await search('quasar', alice.token, { first: 2, after: page2.pageInfo.endCursor! });
    expect(page3.edges.map((e) => e.node.id)).toEqual(newestFirst.slice(4));
    expect(page3.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });

    const back = await search('quasar', alice.token, { last: 2, before: page3.edges[0].cursor });
    expect(back.edges.map((e) => e.node.id)).toEqual(newestFirst.slice(2, 4));
    expect(back.pageInfo).toMatchObject({ hasPreviousPage: true });
    const lastTwo = await search('quasar', alice.token, { last: 2 });
    expect(lastTwo.totalCount).toBe(5);
    expect(lastTwo.edges.map((e) => e.node.id)).toEqual(newestFirst.slice(3));
    expect(lastTwo.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });

    const empty = await search('quasar', alice.token, { first: 2, after: page3.pageInfo.endCursor! });
    expect(empty).toEqual({
      totalCount: 5,
      edges: [],
      pageInfo: { hasNextPage: false, hasPreviousPage: true, startCursor: null, endCursor: null },
    });
  });

  it('shows only what the viewer may see: members and staff spaces stay hidden', async () => {
    const open = await createThread(t, alice, publicSpace, 'Zeppelin models', 'Public.');
    const members = await createThread(t, alice, membersSpace, 'Zeppelin club', 'Members.');
    const staff = await createThread(t, agent, staffSpace, 'Zeppelin escalation', 'Staff only.');
    const staffReply = await reply(t, agent, staff, 'The zeppelin customer called again.');
    const membersReply = await reply(t, bob, members, 'Zeppelin meetup on Friday.');

    const anonymous = await search('zeppelin', null, { first: 20 });
    expect(anonymous.totalCount).toBe(1);
    expect(anonymous.edges.map((e) => e.node)).toEqual([thread(open, 'Zeppelin models')]);

    const member = await search('zeppelin', bob.token, { first: 20 });
    expect(member.totalCount).toBe(3);
    expect(member.edges.map((e) => e.node.id).sort()).toEqual([open, members, membersReply].sort());

    for (const token of [agent.token, manager.token, admin.token]) {
      const staffView = await search('zeppelin', token, { first: 20 });
      expect(staffView.totalCount).toBe(5);
      expect(staffView.edges.map((e) => e.node.id).sort()).toEqual([open, members, staff, staffReply, membersReply].sort());
    }
    // Paging never reaches past what the viewer can see.
    const memberPage = await search('zeppelin', bob.token, { first: 2 });
    const memberRest = await search('zeppelin', bob.token, { first: 2, after: memberPage.pageInfo.endCursor! });
    expect([...memberPage.edges, ...memberRest.edges].map((e) => e.node.id).sort()).toEqual([open, members, membersReply].sort());
    expect(memberRest.pageInfo.hasNextPage).toBe(false);
  });

  it('understands web-search syntax: "quoted phrases", -exclusions and or', async () => {
    const phrase = await createThread(t, alice, publicSpace, 'Ledger backup', 'The nightly ledger backup failed twice.');
    const scattered = await createThread(t, bob, publicSpace, 'Backups', 'One backup of the old ledger.');
    const pdf = await createThread(t, alice, publicSpace, 'Ledger to PDF', 'Printing the ledger as pdf.');

    expect((await hits('ledger backup', alice.token)).map((h) => h.id).sort()).toEqual([phrase, scattered].sort());
    expect(await hits('"ledger backup"', alice.token)).toEqual([thread(phrase, 'Ledger backup')]);
    expect(await hits('"nightly ledger backup"', alice.token)).toEqual([thread(phrase, 'Ledger backup')]);
    expect((await hits('ledger -pdf', alice.token)).map((h) => h.id).sort()).toEqual([phrase, scattered].sort());
    expect(await hits('ledger -backup', alice.token)).toEqual([thread(pdf, 'Ledger to PDF')]);
    expect((await hits('nightly or pdf', alice.token)).map((h) => h.id).sort()).toEqual([phrase, pdf].sort());
    expect(await hits('"ledger backup" -nightly', alice.token)).toEqual([]);
  });

  it('never matches a phrase across the title/body boundary', async () => {
    const across = await createThread(t, alice, publicSpace, 'Quarterly invoice', 'Archive it tomorrow.');
    const within = await createThread(t, bob, publicSpace, 'Filing', 'Please invoice archive requests by Friday.');
    expect(await hits('"invoice archive"', alice.token)).toEqual([thread(within, 'Filing')]);
    expect((await hits('invoice archive', alice.token)).map((h) => h.id).sort()).toEqual([across, within].sort());
  });

  it('returns nothing, not an error, for words it cannot index', async () => {
    expect(await search('!!! ???', alice.token, { first: 5 })).toEqual({
      totalCount: 0,
      edges: [],
      pageInfo: { hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null },
    });
    expect(await hits('xylophonequartz', alice.token)).toEqual([]);
  });

  it('rejects an empty or over-long query, a bad cursor, and a missing or oversized page with clear errors', async () => {
    for (const query of ['', '   ', 'x'.repeat(201)]) {
      const result = await t.request(Search, { query, first: 5 }, alice.token);
      expect(result, JSON.stringify(query)).toEqual({
        data: null,
        errors: [
          {
            message: 'query: must be 1 to 200 characters',
            locations: [{ line: 2, column: 3 }],
            path: ['search'],
            extensions: { code: 'VALIDATION' },
          },
        ],
      });
    }
    // 200 characters (after trimming) is allowed.
    expect((await search(` ${'x'.repeat(200)} `, alice.token, { first: 5 })).totalCount).toBe(0);

    const noSize = await t.request(Search, { query: 'ledger' }, alice.token);
    expect(noSize.errors).toEqual([
      expect.objectContaining({
        message: 'Pass `first` (or `last`) to say how many items you want, at most 100',
        extensions: { code: 'BAD_USER_INPUT' },
      }),
    ]);
    const offsetCursor = (text: string) => Buffer.from(text).toString('base64');
    for (const [page, name] of [
      [{ first: 2, after: 'garbage!' }, 'after'],
      [{ first: 2, after: offsetCursor('OffsetConnection:-5') }, 'after'],
      [{ first: 2, after: offsetCursor('Thread:1') }, 'after'],
      [{ last: 2, before: offsetCursor('OffsetConnection:abc') }, 'before'],
    ] as const) {
      const result = await t.request(Search, { query: 'ledger', ...page }, alice.token);
      expect(result, JSON.stringify(page)).toEqual({
        data: null,
        errors: [
          {
            message: `${name}: is not a cursor of this search`,
            locations: [{ line: 2, column: 3 }],
            path: ['search'],
            extensions: { code: 'VALIDATION' },
          },
        ],
      });
    }
    const tooMany = await t.request(Search, { query: 'ledger', first: 101 }, alice.token);
    expect(tooMany.errors).toEqual([
      expect.objectContaining({ message: '`first` must be between 0 and 100, got 101', extensions: { code: 'BAD_USER_INPUT' } }),
    ]);
  });
});
