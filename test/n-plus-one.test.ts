import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onQuery } from '../src/db/client.js';
import { createSpace, createThread, createUser, reply, type Actor } from './fixtures.js';
import { graphql } from './gql/index.js';
import { startTestApp, type TestApp } from './helpers.js';

const ThreadPage = graphql(`
  query ThreadPage($spaceId: ID!, $first: Int!) {
    threads(spaceId: $spaceId, first: $first) {
      totalCount
      edges {
        cursor
        node {
          id
          title
          replyCount
          isAnswered
          author { id displayName }
          space { slug }
          reactionGroups { content count viewerHasReacted }
          posts(first: 3) { totalCount nodes { body author { displayName } reactionGroups { content count } } }
        }
      }
      pageInfo { hasNextPage endCursor }
    }
  }
`);

const React = graphql(`
  mutation React($input: ReactionInput!) { addReaction(input: $input) { __typename } }
`);

let t: TestApp;
let viewer: Actor;
let spaceId: string;

beforeAll(async () => {
  t = await startTestApp();
  const admin = await createUser(t, 'Admin');
  const authors = [await createUser(t, 'Ana'), await createUser(t, 'Ben'), await createUser(t, 'Cy')];
  viewer = authors[0];
  spaceId = await createSpace(t, admin, 'busy');
  for (let i = 0; i < 100; i++) {
    const author = authors[i % authors.length];
    const threadId = await createThread(t, author, spaceId, `Thread ${i}`, `Body ${i}`);
    if (i % 4 === 0) {
      const postId = await reply(t, authors[(i + 1) % 3], threadId, `Reply to ${i}`);
      await t.query(React, { input: { subjectId: postId, content: 'HEART' } }, viewer.token);
    }
    if (i % 3 === 0) await t.query(React, { input: { subjectId: threadId, content: 'THUMBS_UP' } }, authors[i % 3].token);
  }
}, 180_000);

afterAll(async () => {
  await t?.stop();
});

async function countStatements(first: number) {
  const statements: string[] = [];
  const stop = onQuery((sql) => statements.push(sql));
  try {
    const data = await t.query(ThreadPage, { spaceId, first }, viewer.token);
    return { statements, data };
  } finally {
    stop();
  }
}

describe('a page of threads with authors, reply counts and reaction groups', () => {
  it('runs the same number of SQL statements for 5 threads as for 100', async () => {
    const small = await countStatements(5);
    const large = await countStatements(100);
    expect(small.data.threads.edges).toHaveLength(5);
    expect(large.data.threads.edges).toHaveLength(100);
    expect(large.data.threads.totalCount).toBe(100);
    // Everything on the page is really there, not just counted.
    const thread0 = large.data.threads.edges.find((e) => e.node.title === 'Thread 0')!.node;
    expect(thread0.replyCount).toBe(1);
    expect(thread0.posts.nodes[0]).toMatchObject({ body: 'Reply to 0', author: { displayName: 'Ben' } });
    expect(thread0.posts.nodes[0].reactionGroups.find((g) => g.content === 'HEART')?.count).toBe(1);
    expect(thread0.reactionGroups.find((g) => g.content === 'THUMBS_UP')).toEqual({ content: 'THUMBS_UP', count: 1, viewerHasReacted: true });

    expect(large.statements.length).toBe(small.statements.length);
    // Session with its user; threads joined with authors, spaces, posts and post authors;
    // totalCount; reaction groups of threads and posts together: four, whatever the page size.
    expect(large.statements.length).toBe(4);
  });
});
