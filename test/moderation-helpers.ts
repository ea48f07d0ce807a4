import { createThread, type Actor } from './fixtures.js';
import { graphql } from './gql/index.js';
import { subscribe, type TestApp } from './helpers.js';

// Documents and helpers shared by the moderation suites.

export const ModActivity = graphql(`
  subscription ModActivity {
    activity { id kind actor { id } space { id } subject { __typename id } }
  }
`);

/**
 * Subscribes to all activity `token` may see and waits until the subscription is live (it has
 * received a probe thread created by `prober`). Returns the feed and how many events to skip.
 */
export async function liveFeed(t: TestApp, token: string, prober: Actor, spaceId: string) {
  const feed = subscribe(t.wsClient(token), ModActivity);
  let fence = '';
  for (let attempt = 0; attempt < 50; attempt++) {
    fence = await createThread(t, prober, spaceId, 'probe');
    await new Promise((r) => setTimeout(r, 100));
    if (feed.received.some((e) => e.data?.activity.subject?.id === fence)) break;
  }
  const skip = feed.received.findIndex((e) => e.data?.activity.subject?.id === fence) + 1;
  if (skip === 0) throw new Error('the subscription never went live');
  return { feed, skip };
}

/** Kinds and subjects received after `skip`, as "KIND:Typename" strings. */
export const kindsAfter = (feed: ReturnType<typeof subscribe<unknown, unknown>>, skip: number) =>
  feed.received.slice(skip).map((e) => {
    const activity = (e.data as { activity: { kind: string; subject: { __typename: string } | null } }).activity;
    return `${activity.kind}:${activity.subject?.__typename ?? null}`;
  });

type Live = Awaited<ReturnType<typeof liveFeed>>;

/** After several feeds went live: one more fence, and each feed's count of events to skip up to it. */
export async function fenced(t: TestApp, feeds: Live[], prober: Actor, spaceId: string): Promise<Live[]> {
  const fence = await createThread(t, prober, spaceId, 'fence');
  return Promise.all(
    feeds.map(async ({ feed }) => {
      for (let i = 0; i < 100 && !feed.received.some((e) => e.data?.activity.subject?.id === fence); i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
      const skip = feed.received.findIndex((e) => e.data?.activity.subject?.id === fence) + 1;
      if (skip === 0) throw new Error('a feed never saw the fence');
      return { feed, skip };
    }),
  );
}
