import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onQuery } from '../src/db/client.js';
import { evaluateAlerts } from '../src/modules/listening/alerts.js';
import { configureListening, pollDueSources } from '../src/modules/listening/sources.js';
import { type Actor, createCommunity, createThread } from './fixtures.js';
import { startFeedServer, type FeedServer } from './feed-server.js';
import { createChannel, createDepartment } from './support-fixtures.js';
import { graphql } from './gql/index.js';
import { startTestApp, subscribe, type TestApp } from './helpers.js';

const CreateBrand = graphql(`
  mutation LCreateBrand($input: CreateTrackedBrandInput!) {
    createTrackedBrand(input: $input) {
      __typename
      ... on TrackedBrandPayload { brand { id name kind keywords exclusionKeywords archivedAt } }
      ... on ValidationError { message fieldErrors { path message } }
      ... on Error { message }
    }
  }
`);
const ArchiveBrand = graphql(`
  mutation LArchiveBrand($input: ArchiveTrackedBrandInput!) {
    archiveTrackedBrand(input: $input) { __typename ... on TrackedBrandPayload { brand { id archivedAt } } ... on Error { message } }
  }
`);
const UpdateBrand = graphql(`
  mutation LUpdateBrand($input: UpdateTrackedBrandInput!) {
    updateTrackedBrand(input: $input) { __typename ... on TrackedBrandPayload { brand { name keywords } } ... on Error { message } }
  }
`);
const UpdateRule = graphql(`
  mutation LUpdateRule($input: UpdateListeningAlertRuleInput!) {
    updateListeningAlertRule(input: $input) { __typename ... on ListeningAlertRulePayload { rule { enabled windowMinutes } } ... on Error { message } }
  }
`);
const BrandIds = graphql(`query LBrandIds { trackedBrands(first: 20, includeArchived: true) { nodes { id name } } }`);
const Brands = graphql(`
  query LBrands($includeArchived: Boolean) { trackedBrands(first: 20, includeArchived: $includeArchived) { totalCount nodes { name kind } } }
`);
const CreateSource = graphql(`
  mutation LCreateSource($input: CreateListeningSourceInput!) {
    createListeningSource(input: $input) {
      __typename
      ... on CreateListeningSourcePayload { webhookSecret source { id name kind url pollIntervalMinutes enabled } }
      ... on ValidationError { message fieldErrors { path message } }
      ... on Error { message }
    }
  }
`);
const Sources = graphql(`query LSources { listeningSources(first: 100) { totalCount nodes { id name kind } } }`);
const PollSource = graphql(`
  mutation LPollSource($input: PollListeningSourceInput!) {
    pollListeningSource(input: $input) {
      __typename
      ... on ListeningSourcePayload { source { lastError consecutiveFailures lastFetchedAt nextFetchAt pollIntervalMinutes } }
      ... on Error { message }
    }
  }
`);
const Ingest = graphql(`
  mutation LIngest($input: IngestMentionsInput!) {
    ingestMentions(input: $input) {
      __typename
      ... on IngestMentionsPayload { accepted duplicates }
      ... on ValidationError { message fieldErrors { path message } }
      ... on Error { message }
    }
  }
`);
const Mentions = graphql(`
  query LMentions($filter: MentionFilter, $first: Int!) {
    mentions(filter: $filter, first: $first) {
      totalCount
      nodes {
        id externalId url title author publishedAt language sentiment sentimentScore status
        brands { name } source { name } assignee { id } thread { id }
      }
    }
  }
`);
const SetStatus = graphql(`
  mutation LSetStatus($input: SetMentionStatusInput!) {
    setMentionStatus(input: $input) { __typename ... on MentionPayload { mention { id status } } ... on Error { message } }
  }
`);
const Assign = graphql(`
  mutation LAssign($input: AssignMentionInput!) {
    assignMention(input: $input) {
      __typename
      ... on MentionPayload { mention { assignee { id } } }
      ... on ValidationError { fieldErrors { path message } }
      ... on Error { message }
    }
  }
`);
const ToThread = graphql(`
  mutation LToThread($input: ConvertMentionToThreadInput!) {
    convertMentionToThread(input: $input) {
      __typename
      ... on ConvertMentionToThreadPayload { mention { status thread { id } } thread { id title body space { id } sourceMention { id } } }
      ... on Error { message }
    }
  }
`);
const ToCase = graphql(`
  mutation LToCase($input: ConvertMentionToCaseInput!) {
    convertMentionToCase(input: $input) {
      __typename
      ... on ConvertMentionToCasePayload {
        mention { status supportCase { id } }
        supportCase { id subject priority requester { id } channel { id } sourceMention { id } }
      }
      ... on Error { message }
    }
  }
`);
const MentionCase = graphql(`query LMentionCase($id: ID!) { node(id: $id) { ... on Mention { supportCase { id } } } }`);
const ThreadMention = graphql(`query LThreadMention($id: ID!) { node(id: $id) { ... on Thread { title sourceMention { id } } } }`);
const NodeOf = graphql(`query LNode($id: ID!) { node(id: $id) { __typename id } }`);
const Report = graphql(`
  query LReport($from: DateTime!, $to: DateTime!, $bucket: ListeningReportBucket!, $brandIds: [ID!]) {
    listeningReport(from: $from, to: $to, bucket: $bucket, brandIds: $brandIds) {
      brand { name } volume shareOfVoice positive neutral negative netSentiment
      series { start volume negative }
      risingTerms { term count previousCount }
    }
  }
`);
const CreateRule = graphql(`
  mutation LCreateRule($input: CreateListeningAlertRuleInput!) {
    createListeningAlertRule(input: $input) {
      __typename
      ... on ListeningAlertRulePayload { rule { id kind keyword windowMinutes } }
      ... on ValidationError { fieldErrors { path message } }
      ... on Error { message }
    }
  }
`);
const RuleIds = graphql(`query LRuleIds { listeningAlertRules(first: 20) { totalCount nodes { id name } } }`);
const Alerts = graphql(`
  query LAlerts($acknowledged: Boolean) {
    listeningAlerts(first: 20, acknowledged: $acknowledged) {
      totalCount
      nodes { id kind observed baseline message windowStart windowEnd rule { name } brand { name } acknowledgedBy { id } }
    }
  }
`);
const Acknowledge = graphql(`
  mutation LAcknowledge($input: AcknowledgeListeningAlertInput!) {
    acknowledgeListeningAlert(input: $input) { __typename ... on ListeningAlertPayload { alert { acknowledgedAt acknowledgedBy { id } } } ... on Error { message } }
  }
`);
const AlertFeed = graphql(`
  subscription LAlertFeed { activity(filter: { kinds: [LISTENING_ALERT, THREAD_CREATED] }) { kind subject { __typename id ... on ListeningAlert { message } } } }
`);

let t: TestApp;
let feeds: FeedServer;
let admin: Actor;
let manager: Actor;
let moderator: Actor;
let agent: Actor;
let alice: Actor;
let publicSpace: string;
let ownBrand: string;
let rivalBrand: string;
let pushSource: string;

beforeAll(async () => {
  // The background jobs stay out of the way; tests run each pass themselves.
  // The feeds are served on loopback, which the SSRF guard refuses unless allowed.
  t = await startTestApp({
    LISTENING_JOB_INTERVAL_MS: '3600000',
    LISTENING_FETCH_TIMEOUT_MS: '1500',
    LISTENING_MAX_FEED_BYTES: '65536',
    LISTENING_ALLOW_PRIVATE_NETWORKS: 'true',
  });
  feeds = await startFeedServer();
  ({ admin, manager, moderator, agent, alice, publicSpace } = await createCommunity(t));
  ownBrand = await brand({ name: 'Tertulia', kind: 'OWN', keywords: ['tertulia', 'tertulia app'], exclusionKeywords: ['tertulia literaria'] });
  rivalBrand = await brand({ name: 'Discourse', kind: 'COMPETITOR', keywords: ['discourse'] });
  pushSource = (await source({ name: 'Pushed', kind: 'WEBHOOK' })).id;
});
afterAll(async () => {
  await t?.stop();
  await feeds?.close();
});

async function brand(input: { name: string; kind: 'OWN' | 'COMPETITOR'; keywords: string[]; exclusionKeywords?: string[] }) {
  const { createTrackedBrand } = await t.query(CreateBrand, { input }, manager.token);
  if (createTrackedBrand.__typename !== 'TrackedBrandPayload') throw new Error(JSON.stringify(createTrackedBrand));
  return createTrackedBrand.brand.id;
}

async function source(input: { name: string; kind: 'RSS' | 'ATOM' | 'JSON_FEED' | 'WEBHOOK'; url?: string; pollIntervalMinutes?: number }) {
  const { createListeningSource } = await t.query(CreateSource, { input }, manager.token);
  if (createListeningSource.__typename !== 'CreateListeningSourcePayload') throw new Error(JSON.stringify(createListeningSource));
  return { id: createListeningSource.source.id, secret: createListeningSource.webhookSecret };
}

async function ingest(mentions: { externalId?: string; url?: string; title?: string; body: string; publishedAt?: string }[], sourceId = pushSource) {
  const { ingestMentions } = await t.query(Ingest, { input: { sourceId, mentions } }, manager.token);
  return ingestMentions;
}

const mentionsOf = async (filter: Record<string, unknown>, token = agent.token) =>
  (await t.query(Mentions, { filter, first: 100 }, token)).mentions;

describe('brands and sources', () => {
  it('lets managers and admins configure listening, and nobody else', async () => {
    for (const who of [alice, agent, moderator]) {
      const { createTrackedBrand } = await t.query(CreateBrand, { input: { name: 'Nope', kind: 'OWN', keywords: ['nope'] } }, who.token);
      expect(createTrackedBrand).toEqual({ __typename: 'ForbiddenError', message: 'Only a COMMUNITY_MANAGER or ADMIN can manage tracked brands' });
      const { createListeningSource } = await t.query(CreateSource, { input: { name: 'Nope', kind: 'WEBHOOK' } }, who.token);
      expect(createListeningSource.__typename).toBe('ForbiddenError');
    }
    const anonymous = await t.query(CreateBrand, { input: { name: 'Nope', kind: 'OWN', keywords: ['nope'] } });
    expect(anonymous.createTrackedBrand.__typename).toBe('UnauthenticatedError');
    const { createTrackedBrand } = await t.query(CreateBrand, { input: { name: 'Zulip', kind: 'COMPETITOR', keywords: ['zulip'] } }, admin.token);
    expect(createTrackedBrand).toMatchObject({ brand: { name: 'Zulip', kind: 'COMPETITOR', keywords: ['zulip'], exclusionKeywords: [], archivedAt: null } });
  });

  it('rejects bad brands and sources with the fields at fault, writing nothing', async () => {
    const noKeywords = await t.query(CreateBrand, { input: { name: ' ', kind: 'OWN', keywords: [] } }, manager.token);
    expect(noKeywords.createTrackedBrand).toMatchObject({
      __typename: 'ValidationError',
      fieldErrors: [
        { path: ['input', 'name'], message: 'must not be empty' },
        { path: ['input', 'keywords'], message: 'give at least one keyword' },
      ],
    });
    const taken = await t.query(CreateBrand, { input: { name: 'Tertulia', kind: 'OWN', keywords: ['x'] } }, manager.token);
    expect(taken.createTrackedBrand).toEqual({ __typename: 'ConflictError', message: 'A tracked brand is already named "Tertulia"' });
    const noUrl = await t.query(CreateSource, { input: { name: 'Feed', kind: 'RSS' } }, manager.token);
    expect(noUrl.createListeningSource).toMatchObject({ __typename: 'ValidationError', fieldErrors: [{ path: ['input', 'url'], message: 'is required for a RSS source' }] });
    const ftp = await t.query(CreateSource, { input: { name: 'Feed', kind: 'RSS', url: 'ftp://example.com/feed' } }, manager.token);
    expect(ftp.createListeningSource).toMatchObject({ __typename: 'ValidationError', fieldErrors: [{ path: ['input', 'url'], message: 'must be an http(s) URL' }] });
    const brands = await t.query(Brands, {}, agent.token);
    expect(brands.trackedBrands.nodes.map((b) => b.name)).toEqual(['Discourse', 'Tertulia', 'Zulip']);
  });

  it('shows brands to staff only; archived ones only when asked', async () => {
    const member = await t.request(Brands, {}, alice.token);
    expect(member.errors?.[0]).toMatchObject({ message: 'Only staff can see listening', extensions: { code: 'FORBIDDEN' } });
    expect((await t.query(NodeOf, { id: ownBrand }, alice.token)).node).toBeNull();
    expect((await t.query(NodeOf, { id: ownBrand }, agent.token)).node).toEqual({ __typename: 'TrackedBrand', id: ownBrand });
    const zulip = (await t.query(Brands, {}, agent.token)).trackedBrands.nodes.find((b) => b.name === 'Zulip');
    expect(zulip).toBeDefined();
    const all = await t.query(Brands, {}, manager.token);
    expect(all.trackedBrands.nodes).toHaveLength(3);
  });

  it('applies keyword changes and archiving to mentions ingested from then on', async () => {
    const zulip = (await t.query(Brands, {}, manager.token)).trackedBrands.nodes.find((b) => b.name === 'Zulip');
    expect(zulip).toBeDefined();
    const zulipId = (await t.query(BrandIds, {}, manager.token)).trackedBrands.nodes.find((b) => b.name === 'Zulip')!.id;
    const { updateTrackedBrand } = await t.query(UpdateBrand, { input: { brandId: zulipId, keywords: ['zulip', 'zulip chat'] } }, manager.token);
    expect(updateTrackedBrand).toEqual({ __typename: 'TrackedBrandPayload', brand: { name: 'Zulip', keywords: ['zulip', 'zulip chat'] } });
    const news = (await source({ name: 'Zulip news', kind: 'WEBHOOK' })).id;
    await ingest([{ externalId: 'z-1', body: 'Zulip chat threads are excellent.' }], news);
    const { archiveTrackedBrand } = await t.query(ArchiveBrand, { input: { brandId: zulipId } }, manager.token);
    expect(archiveTrackedBrand).toMatchObject({ __typename: 'TrackedBrandPayload', brand: { id: zulipId, archivedAt: expect.any(String) } });
    await ingest([{ externalId: 'z-2', body: 'Zulip chat threads are excellent.' }], news);
    const stored = (await mentionsOf({ includeUnmatched: true, sourceIds: [news] })).nodes;
    expect(stored.map((m) => [m.externalId, m.brands.map((b) => b.name)])).toEqual([
      ['z-2', []],
      ['z-1', ['Zulip']],
    ]);
    const active = (await t.query(Brands, {}, agent.token)).trackedBrands;
    expect([active.totalCount, active.nodes.map((b) => b.name)]).toEqual([2, ['Discourse', 'Tertulia']]);
    const all = (await t.query(Brands, { includeArchived: true }, agent.token)).trackedBrands;
    expect([all.totalCount, all.nodes.map((b) => b.name)]).toEqual([3, ['Discourse', 'Tertulia', 'Zulip']]);
  });

  it('creates a WEBHOOK source with a secret shown once', async () => {
    const created = await source({ name: 'Another push', kind: 'WEBHOOK' });
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect((await t.query(NodeOf, { id: created.id }, agent.token)).node).toBeNull();
    expect((await t.query(NodeOf, { id: created.id }, manager.token)).node).toEqual({ __typename: 'ListeningSource', id: created.id });
    // Listed, oldest first, to managers and admins only.
    const { listeningSources } = await t.query(Sources, {}, manager.token);
    expect(listeningSources.totalCount).toBe(listeningSources.nodes.length);
    expect(listeningSources.nodes.at(-1)).toEqual({ id: created.id, name: 'Another push', kind: 'WEBHOOK' });
    expect((await t.request(Sources, {}, agent.token)).errors?.[0]).toMatchObject({ extensions: { code: 'FORBIDDEN' } });
  });
});

describe('processing', () => {
  it('detects language and sentiment, and matches brands on whole words, accents and case aside, honouring exclusions', async () => {
    const result = await ingest([
      { externalId: 'p-en-pos', title: 'Loving it', body: 'I love the Tertulia app, it is excellent and the support is wonderful.' },
      { externalId: 'p-es-neg', title: 'Qué desastre', body: 'La aplicación de TÉRTULIA es horrible, falla todo el tiempo y el soporte es pésimo.' },
      { externalId: 'p-en-neg', body: 'Discourse is terrible, slow and awful to moderate.' },
      { externalId: 'p-es-pos', body: 'Me encanta Discourse, es excelente y funciona muy bien.' },
      { externalId: 'p-substring', body: 'We held tertulias every Friday in the old café downtown.' },
      { externalId: 'p-excluded', body: 'La tertulia literaria del jueves habló de poesía y de novelas.' },
      { externalId: 'p-neutral', body: 'The Tertulia release notes list the changes of version two.' },
    ]);
    expect(result).toEqual({ __typename: 'IngestMentionsPayload', accepted: 7, duplicates: 0 });
    const { nodes } = await mentionsOf({ includeUnmatched: true, sourceIds: [pushSource] });
    const byId = Object.fromEntries(nodes.map((m) => [m.externalId, m]));
    expect(byId['p-en-pos']).toMatchObject({ language: 'en', sentiment: 'POSITIVE', brands: [{ name: 'Tertulia' }] });
    expect(byId['p-es-neg']).toMatchObject({ language: 'es', sentiment: 'NEGATIVE', brands: [{ name: 'Tertulia' }] });
    expect(byId['p-en-neg']).toMatchObject({ language: 'en', sentiment: 'NEGATIVE', brands: [{ name: 'Discourse' }] });
    expect(byId['p-es-pos']).toMatchObject({ language: 'es', sentiment: 'POSITIVE', brands: [{ name: 'Discourse' }] });
    expect(byId['p-substring'].brands).toEqual([]);
    expect(byId['p-excluded'].brands).toEqual([]);
    expect(byId['p-neutral']).toMatchObject({ sentiment: 'NEUTRAL', brands: [{ name: 'Tertulia' }] });
    expect(byId['p-en-pos'].sentimentScore).toBeGreaterThan(0);
    expect(byId['p-es-neg'].sentimentScore).toBeLessThan(0);
    // Mentions that name no brand stay out unless asked for.
    const matchedOnly = await mentionsOf({ sourceIds: [pushSource] });
    expect(matchedOnly.nodes.map((m) => m.externalId).sort()).toEqual(['p-en-neg', 'p-en-pos', 'p-es-neg', 'p-es-pos', 'p-neutral']);
  });

  it('negates only within the clause: a negator does not flip the sentences or clauses after it', async () => {
    // A source of its own, and no brand named: the other tests' counts stay as they are.
    const negations = (await source({ name: 'Negations', kind: 'WEBHOOK' })).id;
    const publishedAt = '2025-01-01T10:00:00Z';
    const result = await ingest(
      [
        { externalId: 'n-es-sentences', body: 'El soporte no contesta. La app es horrible y estoy furioso.' },
        { externalId: 'n-en-sentences', body: 'I could not log in yesterday. Today the app is terrible and support is awful.' },
        { externalId: 'n-es-conjunction', body: 'El soporte no contesta y la app es horrible.' },
        { externalId: 'n-en-not-good', body: 'The app is not good.' },
        { externalId: 'n-es-not-good', body: 'El soporte no es bueno.' },
        { externalId: 'n-en-not-bad', body: 'Support was not bad at all.' },
        { externalId: 'n-en-contraction', body: 'I don’t like the new editor, it isn\'t good.' },
        { externalId: 'n-en-pos', body: 'The new release is great.' },
        { externalId: 'n-en-neg', body: 'The new release is awful.' },
        { externalId: 'n-es-pos', body: 'La nueva versión es excelente.' },
        { externalId: 'n-es-neg', body: 'La nueva versión es horrible.' },
      ].map((m) => ({ ...m, publishedAt })),
      negations,
    );
    expect(result).toEqual({ __typename: 'IngestMentionsPayload', accepted: 11, duplicates: 0 });
    const { nodes } = await mentionsOf({ includeUnmatched: true, sourceIds: [negations] });
    const sentimentOf = Object.fromEntries(nodes.map((m) => [m.externalId, [m.language, m.sentiment]]));
    expect(sentimentOf).toEqual({
      'n-es-sentences': ['es', 'NEGATIVE'],
      'n-en-sentences': ['en', 'NEGATIVE'],
      'n-es-conjunction': ['es', 'NEGATIVE'],
      'n-en-not-good': ['en', 'NEGATIVE'],
      'n-es-not-good': ['es', 'NEGATIVE'],
      'n-en-not-bad': ['en', 'POSITIVE'],
      'n-en-contraction': ['en', 'NEGATIVE'],
      'n-en-pos': ['en', 'POSITIVE'],
      'n-en-neg': ['en', 'NEGATIVE'],
      'n-es-pos': ['es', 'POSITIVE'],
      'n-es-neg': ['es', 'NEGATIVE'],
    });
    // Still the AFINN sum over all of the text's words: the clauses only bound the negations.
    const scoreOf = Object.fromEntries(nodes.map((m) => [m.externalId, m.sentimentScore]));
    expect([scoreOf['n-es-sentences'], scoreOf['n-en-sentences']]).toEqual([-0.545, -0.267]);
    const negative = await mentionsOf({ includeUnmatched: true, sourceIds: [negations], sentiments: ['NEGATIVE'] });
    expect(negative.nodes.map((m) => m.externalId).sort()).toEqual(['n-en-contraction', 'n-en-neg', 'n-en-not-good', 'n-en-sentences', 'n-es-conjunction', 'n-es-neg', 'n-es-not-good', 'n-es-sentences']);
  });

  it('is idempotent by source and external id, and all or nothing on bad input', async () => {
    const again = await ingest([{ externalId: 'p-en-pos', body: 'Changed text' }, { url: 'https://example.com/new', body: 'Tertulia is fine' }]);
    expect(again).toEqual({ __typename: 'IngestMentionsPayload', accepted: 1, duplicates: 1 });
    const kept = (await mentionsOf({ sourceIds: [pushSource], query: 'love' })).nodes;
    expect(kept.map((m) => m.externalId)).toEqual(['p-en-pos']);
    const before = (await mentionsOf({ includeUnmatched: true })).totalCount;
    const bad = await ingest([{ externalId: 'ok-1', body: 'Tertulia' }, { externalId: 'bad-1', body: '   ' }, { body: 'no id' }]);
    expect(bad).toMatchObject({
      __typename: 'ValidationError',
      fieldErrors: [
        { path: ['input', 'mentions', '1', 'body'], message: 'must not be empty' },
        { path: ['input', 'mentions', '2', 'externalId'], message: 'give an externalId or a url, so the same mention is never ingested twice' },
      ],
    });
    // Over its cap, the list is refused before anything runs (test/limits.test.ts).
    const tooMany = await t.request(Ingest, { input: { sourceId: pushSource, mentions: Array.from({ length: 501 }, (_, i) => ({ externalId: `many-${i}`, body: 'Tertulia' })) } }, manager.token);
    expect(tooMany.errors).toEqual([{ message: '`ingestMentions(input).mentions` takes at most 500 items, got 501', extensions: { code: 'LIST_TOO_LONG' } }]);
    expect((await mentionsOf({ includeUnmatched: true })).totalCount).toBe(before);
    const forbidden = await t.query(Ingest, { input: { sourceId: pushSource, mentions: [{ externalId: 'x', body: 'x' }] } }, agent.token);
    expect(forbidden.ingestMentions.__typename).toBe('ForbiddenError');
  });

  it('filters by sentiment, language, brand, period and full text in either language', async () => {
    expect((await mentionsOf({ sentiments: ['NEGATIVE'], sourceIds: [pushSource] })).nodes.map((m) => m.externalId).sort()).toEqual(['p-en-neg', 'p-es-neg']);
    expect((await mentionsOf({ languages: ['es'], brandIds: [rivalBrand] })).nodes.map((m) => m.externalId)).toEqual(['p-es-pos']);
    // A Spanish word form finds its stem: "fallas" -> "fall".
    expect((await mentionsOf({ query: 'fallas' })).nodes.map((m) => m.externalId)).toEqual(['p-es-neg']);
    expect((await mentionsOf({ from: '2000-01-01T00:00:00Z', to: '2000-01-02T00:00:00Z' })).totalCount).toBe(0);
    const badPeriod = await t.request(Mentions, { filter: { from: '2026-01-02T00:00:00Z', to: '2026-01-01T00:00:00Z' }, first: 5 }, agent.token);
    expect(badPeriod.errors?.[0]).toMatchObject({ message: 'filter.to: must be after `from`', extensions: { code: 'VALIDATION' } });
    const member = await t.request(Mentions, { first: 5 }, alice.token);
    expect(member.errors?.[0]).toMatchObject({ message: 'Only staff can see mentions', extensions: { code: 'FORBIDDEN' } });
  });

  it('pages mentions with a fixed number of SQL statements whatever the page size', async () => {
    await ingest(Array.from({ length: 60 }, (_, i) => ({ externalId: `bulk-${i}`, body: `Tertulia and Discourse compared, part ${i}` })));
    const count = async (first: number) => {
      const statements: string[] = [];
      const stop = onQuery((sql) => statements.push(sql));
      try {
        const { mentions } = await t.query(Mentions, { filter: {}, first }, agent.token);
        expect(mentions.nodes).toHaveLength(first);
      } finally {
        stop();
      }
      return statements.length;
    };
    expect(await count(50)).toBe(await count(5));
  });
});

describe('feeds', () => {
  it('polls RSS, Atom and JSON Feed documents, conditionally, and follows a redirect', async () => {
    const rss = await source({ name: 'RSS', kind: 'RSS', url: feeds.url('/rss') });
    const atom = await source({ name: 'Atom', kind: 'ATOM', url: feeds.url('/atom') });
    const json = await source({ name: 'JSON', kind: 'JSON_FEED', url: feeds.url('/moved') });
    // Two pollers at once (two instances): each feed is fetched once.
    const passes = await Promise.all([pollDueSources(), pollDueSources()]);
    expect(passes.reduce((n, p) => n + p.polled, 0)).toBe(3);
    expect(passes.reduce((n, p) => n + p.failed, 0)).toBe(0);
    expect(feeds.hits.get('/rss')).toHaveLength(1);
    expect(feeds.hits.get('/atom')).toHaveLength(1);

    const fromRss = (await mentionsOf({ sourceIds: [rss.id], includeUnmatched: true })).nodes;
    expect(fromRss.map((m) => ({ id: m.externalId, url: m.url, author: m.author, brands: m.brands.map((b) => b.name), sentiment: m.sentiment, publishedAt: m.publishedAt }))).toEqual([
      { id: 'rss-3', url: 'https://news.example.com/3', author: null, brands: [], sentiment: 'NEUTRAL', publishedAt: '2026-11-10T12:00:00.000Z' },
      { id: 'rss-2', url: 'https://news.example.com/2', author: 'ops@example.com (Ops Team)', brands: ['Discourse'], sentiment: 'NEGATIVE', publishedAt: '2026-11-10T11:00:00.000Z' },
      { id: 'rss-1', url: 'https://news.example.com/1', author: 'Jane Writer', brands: ['Tertulia'], sentiment: 'POSITIVE', publishedAt: '2026-11-10T10:00:00.000Z' },
    ]);
    const [fromAtom] = (await mentionsOf({ sourceIds: [atom.id] })).nodes;
    expect(fromAtom).toMatchObject({ title: 'Tértulia se cae otra vez', language: 'es', sentiment: 'NEGATIVE', author: 'Lucía', url: 'https://blog.example.es/caida', brands: [{ name: 'Tertulia' }] });
    const [fromJson] = (await mentionsOf({ sourceIds: [json.id] })).nodes;
    expect(fromJson).toMatchObject({ externalId: 'json-1', author: 'Rev Iewer', sentiment: 'POSITIVE', brands: [{ name: 'Tertulia' }, { name: 'Discourse' }] });

    // The next poll sends the validators back and gets 304: nothing new, no error.
    const { pollListeningSource } = await t.query(PollSource, { input: { sourceId: rss.id } }, manager.token);
    expect(pollListeningSource).toMatchObject({ source: { lastError: null, consecutiveFailures: 0 } });
    expect(feeds.hits.get('/rss')![1]).toEqual({ ifNoneMatch: '"rss-v1"', ifModifiedSince: 'Tue, 10 Nov 2026 12:00:00 GMT' });
    expect((await mentionsOf({ sourceIds: [rss.id], includeUnmatched: true })).totalCount).toBe(3);
  });

  it('stores duplicate items once', async () => {
    const dupes = await source({ name: 'Dupes', kind: 'RSS', url: feeds.url('/duplicates') });
    await t.query(PollSource, { input: { sourceId: dupes.id } }, manager.token);
    expect((await mentionsOf({ sourceIds: [dupes.id] })).nodes.map((m) => m.externalId).sort()).toEqual(['dup-1', 'dup-2']);
  });

  it("stores a feed item whose text holds NUL characters without them: a feed is someone else's text, fitted, not refused", async () => {
    const junk = await source({ name: 'Junk', kind: 'JSON_FEED', url: feeds.url('/nul') });
    const { pollListeningSource } = await t.query(PollSource, { input: { sourceId: junk.id } }, manager.token);
    expect(pollListeningSource).toMatchObject({ source: { lastError: null, consecutiveFailures: 0 } });
    expect((await mentionsOf({ sourceIds: [junk.id], includeUnmatched: true })).nodes.map((m) => [m.externalId, m.title, m.author, m.brands.map((b) => b.name)])).toEqual([
      ['nul-1', 'Tertulia update', 'Bot', ['Tertulia']],
    ]);
  });

  it('records what went wrong with a broken, huge, slow or looping feed, and backs off', async () => {
    const cases: [string, 'RSS' | 'JSON_FEED', string | RegExp][] = [
      ['/malformed', 'RSS', 'Unreadable feed: The XML document is not well-formed'],
      ['/not-json', 'JSON_FEED', 'The JSON Feed is not valid JSON'],
      ['/huge', 'RSS', 'The feed is larger than 65536 bytes'],
      ['/huge-declared', 'RSS', 'The feed is larger than 65536 bytes'],
      ['/slow', 'RSS', 'No complete answer within 1500 ms'],
      ['/loop-a', 'RSS', /^Redirect loop: http:\/\/127\.0\.0\.1:\d+\/loop-a was already visited$/],
      ['/gone', 'RSS', /^HTTP 410 from http:\/\/127\.0\.0\.1:\d+\/gone$/],
    ];
    for (const [path, kind, error] of cases) {
      const broken = await source({ name: path, kind, url: feeds.url(path), pollIntervalMinutes: 10 });
      const { pollListeningSource } = await t.query(PollSource, { input: { sourceId: broken.id } }, manager.token);
      if (pollListeningSource.__typename !== 'ListeningSourcePayload') throw new Error(JSON.stringify(pollListeningSource));
      const polled = pollListeningSource.source;
      if (typeof error === 'string') expect(polled.lastError).toBe(error);
      else expect(polled.lastError).toMatch(error);
      expect(polled.consecutiveFailures).toBe(1);
      // Back-off: twice the interval after one failure.
      expect(Date.parse(polled.nextFetchAt) - Date.parse(polled.lastFetchedAt!)).toBe(20 * 60_000);
    }
    // The server is still fine.
    expect((await t.query(Brands, {}, agent.token)).trackedBrands.nodes.length).toBeGreaterThan(0);
  });

  it('refuses feeds on the server\'s own networks unless LISTENING_ALLOW_PRIVATE_NETWORKS is set', async () => {
    configureListening({ allowPrivateNetworks: false });
    try {
      const expectRefused = async (url: string, message: string) => {
        const internal = await source({ name: url, kind: 'RSS', url });
        const { pollListeningSource } = await t.query(PollSource, { input: { sourceId: internal.id } }, manager.token);
        expect(pollListeningSource).toMatchObject({ source: { lastError: message, consecutiveFailures: 1 } });
      };
      const hint = 'set LISTENING_ALLOW_PRIVATE_NETWORKS=true to poll internal feeds';
      await expectRefused(feeds.url('/rss'), `127.0.0.1 is a non-public address (127.0.0.1); ${hint}`);
      // By name: the address the connection would use is checked.
      await expectRefused(feeds.url('/rss').replace('127.0.0.1', 'localhost'), expect.stringMatching(new RegExp(`^localhost is a non-public address \\((127\\.0\\.0\\.1|::1)\\); ${hint}$`)) as unknown as string);
      await expectRefused('http://169.254.169.254/latest/meta-data', `169.254.169.254 is a non-public address (169.254.169.254); ${hint}`);
      await expectRefused('http://[::1]:9/feed', `::1 is a non-public address (::1); ${hint}`);
      expect(feeds.hits.get('/rss')).toHaveLength(2); // only the two polls of the first test
    } finally {
      configureListening({ allowPrivateNetworks: true });
    }
  });
});

describe('triage', () => {
  it('sets status, assigns to team members, and turns a mention into a thread linked both ways', async () => {
    const [mention] = (await mentionsOf({ sourceIds: [pushSource], query: 'love' })).nodes;
    const { setMentionStatus } = await t.query(SetStatus, { input: { mentionId: mention.id, status: 'REVIEWED' } }, moderator.token);
    expect(setMentionStatus).toEqual({ __typename: 'MentionPayload', mention: { id: mention.id, status: 'REVIEWED' } });
    expect((await t.query(SetStatus, { input: { mentionId: mention.id, status: 'IGNORED' } }, alice.token)).setMentionStatus.__typename).toBe('ForbiddenError');

    expect((await t.query(Assign, { input: { mentionId: mention.id, assigneeId: agent.id } }, manager.token)).assignMention).toEqual({
      __typename: 'MentionPayload',
      mention: { assignee: { id: agent.id } },
    });
    expect((await t.query(Assign, { input: { mentionId: mention.id, assigneeId: alice.id } }, manager.token)).assignMention).toEqual({
      __typename: 'ValidationError',
      message: 'input.assigneeId: must be a team member (a role above MEMBER)',
      fieldErrors: [{ path: ['input', 'assigneeId'], message: 'must be a team member (a role above MEMBER)' }],
    });

    const { convertMentionToThread } = await t.query(ToThread, { input: { mentionId: mention.id, spaceId: publicSpace } }, agent.token);
    if (convertMentionToThread.__typename !== 'ConvertMentionToThreadPayload') throw new Error(JSON.stringify(convertMentionToThread));
    const thread = convertMentionToThread.thread;
    expect(thread).toMatchObject({ title: 'Loving it', space: { id: publicSpace }, sourceMention: { id: mention.id } });
    expect(thread.body).toBe('I love the Tertulia app, it is excellent and the support is wonderful.');
    expect(convertMentionToThread.mention).toEqual({ status: 'ENGAGED', thread: { id: thread.id } });
    // Members see the thread, not where it came from.
    expect((await t.query(ThreadMention, { id: thread.id }, alice.token)).node).toEqual({ title: 'Loving it', sourceMention: null });
    const twice = await t.query(ToThread, { input: { mentionId: mention.id, spaceId: publicSpace } }, agent.token);
    expect(twice.convertMentionToThread).toEqual({ __typename: 'ConflictError', message: 'This mention already has a thread' });
    expect((await t.query(NodeOf, { id: mention.id }, alice.token)).node).toBeNull();
  });
});

describe('mention to case', () => {
  it('opens a support case from a mention, linked both ways, for staff only and once', async () => {
    const department = await createDepartment(t, manager, { name: 'Social care' }, [{ actor: agent }]);
    const channel = await createChannel(t, manager, { name: 'Social', kind: 'SOCIAL', defaultDepartmentId: department });
    const [angry] = (await mentionsOf({ sourceIds: [pushSource], query: 'desastre' })).nodes;
    expect(angry.sentiment).toBe('NEGATIVE');

    const member = await t.query(ToCase, { input: { mentionId: angry.id, channelId: channel } }, alice.token);
    expect(member.convertMentionToCase.__typename).toBe('ForbiddenError');

    const { convertMentionToCase } = await t.query(ToCase, { input: { mentionId: angry.id, channelId: channel } }, agent.token);
    if (convertMentionToCase.__typename !== 'ConvertMentionToCasePayload') throw new Error(JSON.stringify(convertMentionToCase));
    const kase = convertMentionToCase.supportCase;
    // A negative mention is HIGH unless said otherwise; the agent follows it up as its requester.
    expect(kase).toEqual({ id: kase.id, subject: 'Qué desastre', priority: 'HIGH', requester: { id: agent.id }, channel: { id: channel }, sourceMention: { id: angry.id } });
    expect(convertMentionToCase.mention).toEqual({ status: 'ENGAGED', supportCase: { id: kase.id } });

    // A moderator may read mentions but not support cases: the link is there, the case is not.
    expect((await t.query(MentionCase, { id: angry.id }, moderator.token)).node).toEqual({ supportCase: null });
    expect((await t.query(MentionCase, { id: angry.id }, manager.token)).node).toEqual({ supportCase: { id: kase.id } });
    const twice = await t.query(ToCase, { input: { mentionId: angry.id, channelId: channel } }, agent.token);
    expect(twice.convertMentionToCase).toEqual({ __typename: 'ConflictError', message: 'This mention already has a case' });
  });
});

describe('report', () => {
  it('reports volume per bucket, share of voice, sentiment and rising terms per brand, computed in the database', async () => {
    const at = (day: number, hour = 12) => `2026-03-${String(day).padStart(2, '0')}T${String(hour).padStart(2, '0')}:00:00Z`;
    // Previous period (Mar 1-3): "pricing" once; current period (Mar 4-6): "pricing" four times, "outage" three.
    await ingest([
      { externalId: 'r-prev-1', body: 'The Tertulia pricing page is fine.', publishedAt: at(1) },
      { externalId: 'r-prev-2', body: 'Discourse meetup notes.', publishedAt: at(2) },
      { externalId: 'r-1', body: 'Tertulia pricing is terrible and awful.', publishedAt: at(4, 9) },
      { externalId: 'r-2', body: 'Tertulia pricing changed again, horrible.', publishedAt: at(4, 15) },
      { externalId: 'r-3', body: 'Tertulia pricing: great value, I love it.', publishedAt: at(5) },
      { externalId: 'r-4', body: 'Tertulia pricing and an outage today.', publishedAt: at(6) },
      { externalId: 'r-5', body: 'Tertulia outage again.', publishedAt: at(6, 13) },
      { externalId: 'r-6', body: 'Another Tertulia outage.', publishedAt: at(6, 14) },
      { externalId: 'r-7', body: 'Discourse is excellent and wonderful.', publishedAt: at(5) },
      { externalId: 'r-8', body: 'La tertulia literaria de marzo.', publishedAt: at(5) },
    ]);
    const { listeningReport } = await t.query(
      Report,
      { from: '2026-03-04T00:00:00Z', to: '2026-03-07T00:00:00Z', bucket: 'DAY', brandIds: [ownBrand, rivalBrand] },
      agent.token,
    );
    expect(listeningReport.map((r) => r.brand.name)).toEqual(['Discourse', 'Tertulia']);
    const [rival, own] = listeningReport;
    // AFINN scores "outage" -2: only "great value, I love it" is positive.
    expect(own).toMatchObject({ volume: 6, shareOfVoice: 0.8571, positive: 1, negative: 5, neutral: 0, netSentiment: -0.6667 });
    expect(own.series).toEqual([
      { start: '2026-03-04T00:00:00.000Z', volume: 2, negative: 2 },
      { start: '2026-03-05T00:00:00.000Z', volume: 1, negative: 0 },
      { start: '2026-03-06T00:00:00.000Z', volume: 3, negative: 3 },
    ]);
    expect(rival).toMatchObject({ volume: 1, shareOfVoice: 0.1429, positive: 1, netSentiment: 1 });
    expect(rival.series.map((p) => p.volume)).toEqual([0, 1, 0]);
    // Ranked by (count + 1) / (previous + 1): "outage" (3 vs 0) before "price" (4 vs 1); the brand's
    // own name, which rises with its volume, is left out.
    expect(own.risingTerms).toEqual([
      { term: 'outag', count: 3, previousCount: 0 },
      { term: 'price', count: 4, previousCount: 1 },
    ]);

    const tooMany = await t.request(Report, { from: '2020-01-01T00:00:00Z', to: '2026-01-01T00:00:00Z', bucket: 'HOUR' }, agent.token);
    expect(tooMany.errors?.[0]).toMatchObject({ extensions: { code: 'VALIDATION' } });
    expect(tooMany.errors?.[0].message).toMatch(/^bucket: makes 52608 buckets; at most 1000/);
    const member = await t.request(Report, { from: '2026-03-04T00:00:00Z', to: '2026-03-07T00:00:00Z', bucket: 'DAY' }, alice.token);
    expect(member.errors?.[0]).toMatchObject({ extensions: { code: 'FORBIDDEN' } });
  });
});

describe('alerts', () => {
  const hour = (h: number, minute = 0) => `2026-04-01T${String(h).padStart(2, '0')}:${String(minute).padStart(2, '0')}:00Z`;
  const now = new Date('2026-04-01T10:30:00Z');

  it('raises a volume spike once per window, however many instances evaluate it, and streams it to managers only', async () => {
    const { createListeningAlertRule } = await t.query(
      CreateRule,
      { input: { name: 'Rival spike', kind: 'VOLUME_SPIKE', brandId: rivalBrand, windowMinutes: 60, baselineWindows: 3, spikeFactor: 2, minVolume: 3 } },
      manager.token,
    );
    expect(createListeningAlertRule.__typename).toBe('ListeningAlertRulePayload');
    // One mention an hour for three hours, then five in the current hour.
    await ingest([
      ...[7, 8, 9].map((h) => ({ externalId: `spike-base-${h}`, body: 'Discourse weekly digest.', publishedAt: hour(h, 15) })),
      ...[0, 5, 10, 15, 20].map((m) => ({ externalId: `spike-now-${m}`, body: 'Discourse is down again.', publishedAt: hour(10, m) })),
    ]);
    const managerFeed = subscribe(t.wsClient(manager.token), AlertFeed);
    const moderatorFeed = subscribe(t.wsClient(moderator.token), AlertFeed);
    await waitForThread([managerFeed, moderatorFeed]);

    const raised = await Promise.all([evaluateAlerts(now), evaluateAlerts(now)]);
    expect(raised[0] + raised[1]).toBe(1);
    expect(await evaluateAlerts(new Date('2026-04-01T10:59:00Z'))).toBe(0);

    const { listeningAlerts } = await t.query(Alerts, { acknowledged: false }, manager.token);
    expect(listeningAlerts.nodes).toEqual([
      {
        id: expect.any(String),
        kind: 'VOLUME_SPIKE',
        observed: 5,
        baseline: 1,
        message: '5 mentions for Discourse in 60 minutes, against an average of 1.0',
        windowStart: '2026-04-01T10:00:00.000Z',
        windowEnd: '2026-04-01T11:00:00.000Z',
        rule: { name: 'Rival spike' },
        brand: { name: 'Discourse' },
        acknowledgedBy: null,
      },
    ]);
    const alertId = listeningAlerts.nodes[0].id;
    const fence = await createThread(t, admin, publicSpace, 'Alert fence');
    const managerEvents = await untilThread(managerFeed, fence);
    expect(managerEvents).toEqual([{ kind: 'LISTENING_ALERT', subject: { __typename: 'ListeningAlert', id: alertId, message: '5 mentions for Discourse in 60 minutes, against an average of 1.0' } }]);
    expect(await untilThread(moderatorFeed, fence)).toEqual([]);

    const agentView = await t.request(Alerts, {}, agent.token);
    expect(agentView.errors?.[0]).toMatchObject({ extensions: { code: 'FORBIDDEN' } });
    expect((await t.query(NodeOf, { id: alertId }, moderator.token)).node).toBeNull();
    expect((await t.query(Acknowledge, { input: { alertId } }, manager.token)).acknowledgeListeningAlert).toMatchObject({
      alert: { acknowledgedBy: { id: manager.id } },
    });
    expect((await t.query(Alerts, { acknowledged: false }, manager.token)).listeningAlerts).toEqual({ totalCount: 0, nodes: [] });
    expect((await t.query(Alerts, { acknowledged: true }, manager.token)).listeningAlerts).toMatchObject({ totalCount: 1, nodes: [{ id: alertId }] });
  });

  it('raises negative spikes and watched keywords, accents aside', async () => {
    await t.query(CreateRule, { input: { name: 'Angry', kind: 'NEGATIVE_SPIKE', brandId: ownBrand, windowMinutes: 60, baselineWindows: 2, spikeFactor: 3, minVolume: 2 } }, manager.token);
    await t.query(CreateRule, { input: { name: 'Refunds', kind: 'KEYWORD', keyword: 'reembolsó', windowMinutes: 30 } }, manager.token);
    const missingKeyword = await t.query(CreateRule, { input: { name: 'Nothing', kind: 'KEYWORD' } }, manager.token);
    expect(missingKeyword.createListeningAlertRule).toEqual({
      __typename: 'ValidationError',
      message: 'input.keyword: is required for a KEYWORD rule',
      fieldErrors: [{ path: ['input', 'keyword'], message: 'is required for a KEYWORD rule' }],
    });
    await ingest([
      { externalId: 'neg-1', body: 'Tertulia is terrible and awful today.', publishedAt: '2026-05-01T10:05:00Z' },
      { externalId: 'neg-2', body: 'Tertulia crashed, horrible experience.', publishedAt: '2026-05-01T10:06:00Z' },
      // The watched word in capitals without its accent counts; a longer word that starts with it does not.
      { externalId: 'kw-1', body: 'Tertulia me REEMBOLSO el dinero hoy.', publishedAt: '2026-05-01T10:10:00Z' },
      { externalId: 'kw-2', body: 'Tertulia lists reembolsos by date.', publishedAt: '2026-05-01T10:11:00Z' },
    ]);
    expect(await evaluateAlerts(new Date('2026-05-01T10:20:00Z'))).toBe(2);
    const { listeningAlerts } = await t.query(Alerts, { acknowledged: false }, manager.token);
    expect(listeningAlerts.nodes.map((a) => [a.kind, a.observed, a.message])).toEqual([
      ['KEYWORD', 1, '"reembolsó" appeared in 1 mention'],
      ['NEGATIVE_SPIKE', 2, '2 negative mentions for Tertulia in 60 minutes, against an average of 0.0'],
    ]);
    // A disabled rule raises nothing, even in a new window.
    const { listeningAlertRules } = await t.query(RuleIds, {}, manager.token);
    expect(listeningAlertRules.totalCount).toBe(listeningAlertRules.nodes.length);
    const refunds = listeningAlertRules.nodes.find((r) => r.name === 'Refunds')!.id;
    expect((await t.query(UpdateRule, { input: { ruleId: refunds, enabled: false } }, manager.token)).updateListeningAlertRule).toEqual({
      __typename: 'ListeningAlertRulePayload',
      rule: { enabled: false, windowMinutes: 30 },
    });
    await ingest([{ externalId: 'kw-3', body: 'Tertulia reembolso hoy.', publishedAt: '2026-05-01T11:05:00Z' }]);
    expect(await evaluateAlerts(new Date('2026-05-01T11:10:00Z'))).toBe(0);
    expect((await t.query(UpdateRule, { input: { ruleId: refunds, enabled: true } }, agent.token)).updateListeningAlertRule.__typename).toBe('ForbiddenError');
  });
});

describe('webhook', () => {
  const post = async (body: string, headers: Record<string, string>) => {
    const response = await fetch(t.url.replace(/\/graphql$/, '/ingest/mentions'), {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });
    return { status: response.status, body: await response.json() };
  };
  // The signing rule written out here (not src/webhooks.ts's signBody), as a sender would:
  // HMAC-SHA256 of "<timestamp>.<raw body>".
  const nowSeconds = () => Math.floor(Date.now() / 1000);
  const sign = (secret: string, timestamp: string, body: string) => `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
  /** The source and signing headers; sent with `timestamp` (now by default), signed for `signedAt` (the same by default). */
  const signed = (sourceId: string, secret: string, body: string, timestamp = String(nowSeconds()), signedAt = timestamp) => ({
    'x-tertulia-source': sourceId,
    'x-tertulia-timestamp': timestamp,
    'x-tertulia-signature': sign(secret, signedAt, body),
  });

  it('accepts signed batches idempotently and refuses unsigned or badly signed ones, writing nothing', async () => {
    const hook = await source({ name: 'Signed', kind: 'WEBHOOK' });
    const body = JSON.stringify({ mentions: [{ externalId: 'wh-1', body: 'Tertulia webhooks are excellent.', publishedAt: '2026-06-01T10:00:00Z' }] });
    const before = (await mentionsOf({ sourceIds: [hook.id] })).totalCount;
    expect(await post(body, signed(hook.id, 'wrong secret', body))).toEqual({
      status: 401,
      body: { error: 'Unknown source or bad signature' },
    });
    expect((await post(body, { 'x-tertulia-source': hook.id, 'x-tertulia-timestamp': String(nowSeconds()) })).status).toBe(401);
    expect((await post(body, signed(pushSource, hook.secret!, body))).status).toBe(401);
    expect((await mentionsOf({ sourceIds: [hook.id] })).totalCount).toBe(before);

    const headers = signed(hook.id, hook.secret!, body);
    expect(await post(body, headers)).toEqual({ status: 200, body: { accepted: 1, duplicates: 0 } });
    expect(await post(body, headers)).toEqual({ status: 200, body: { accepted: 0, duplicates: 1 } });
    const [stored] = (await mentionsOf({ sourceIds: [hook.id] })).nodes;
    expect(stored).toMatchObject({ externalId: 'wh-1', sentiment: 'POSITIVE', publishedAt: '2026-06-01T10:00:00.000Z', brands: [{ name: 'Tertulia' }] });

    const invalid = JSON.stringify({ mentions: [{ externalId: 'wh-2', body: '' }] });
    expect(await post(invalid, signed(hook.id, hook.secret!, invalid))).toEqual({
      status: 400,
      body: { error: 'mentions.0.body: must not be empty', fieldErrors: [{ path: ['mentions', '0', 'body'], message: 'must not be empty' }] },
    });
    const notJson = '{"mentions": [';
    expect((await post(notJson, signed(hook.id, hook.secret!, notJson))).status).toBe(400);
    const wrongType = await fetch(t.url.replace(/\/graphql$/, '/ingest/mentions'), { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' });
    expect(wrongType.status).toBe(415);
    expect((await fetch(t.url.replace(/\/graphql$/, '/ingest/mentions'))).status).toBe(405);
  });

  it('answers 401 for a source id beyond PostgreSQL integers, signed or not, before looking anything up', async () => {
    const body = JSON.stringify({ mentions: [{ externalId: 'wh-big', body: 'Hello' }] });
    const beyond = Buffer.from('ListeningSource:2147483648').toString('base64');
    for (const headers of [{ 'x-tertulia-source': beyond, 'x-tertulia-timestamp': String(nowSeconds()) }, signed(beyond, 'any secret', body)]) {
      expect(await post(body, headers)).toEqual({ status: 401, body: { error: 'Unknown source or bad signature' } });
    }
  });

  it('refuses dates out of range or unreadable and ill-formed Unicode with 400 naming the field in plain words, writing nothing', async () => {
    const hook = await source({ name: 'Strict', kind: 'WEBHOOK' });
    const DATE = 'must be an ISO-8601 date-time with a time zone offset, e.g. 2026-11-23T18:44:31.000Z, between years 0001 and 9999';
    const ILL_FORMED = 'must be well-formed Unicode text (it holds a lone UTF-16 surrogate, such as \\ud800)';
    const refused = async (mention: Record<string, unknown>, path: string[], message: string) => {
      const body = JSON.stringify({ mentions: [{ externalId: 'fine', body: 'Fine' }, mention] });
      expect({ mention, reply: await post(body, signed(hook.id, hook.secret!, body)) }).toEqual({
        mention,
        reply: { status: 400, body: { error: `${path.join('.')}: ${message}`, fieldErrors: [{ path, message }] } },
      });
    };
    for (const publishedAt of ['0000-01-01T00:00:00Z', '0001-01-01T00:30:00+01:00', '+010000-01-01T00:00:00Z', 'yesterday', '2026-02-30T10:00:00Z', 'March 3, 2026']) {
      await refused({ externalId: 'dated', body: 'Hello', publishedAt }, ['mentions', '1', 'publishedAt'], DATE);
    }
    await refused({ externalId: 'wh-\ud800', body: 'Hello' }, ['mentions', '1', 'externalId'], ILL_FORMED);
    await refused({ externalId: 'wh-lone', title: 'A \udfff title', body: 'Hello' }, ['mentions', '1', 'title'], ILL_FORMED);
    expect((await mentionsOf({ sourceIds: [hook.id] })).totalCount).toBe(0);
    // The first instant of year 1 is a date PostgreSQL stores.
    const old = JSON.stringify({ mentions: [{ externalId: 'ancient', body: 'Hello', publishedAt: '0001-01-01T00:00:00Z' }] });
    expect(await post(old, signed(hook.id, hook.secret!, old))).toEqual({ status: 200, body: { accepted: 1, duplicates: 0 } });
  });

  it('accepts a batch signed up to 300 s (the default) behind or ahead, and refuses a timestamp missing, malformed, outside or not signed, writing nothing', async () => {
    const hook = await source({ name: 'Clocked', kind: 'WEBHOOK' });
    const batch = (externalId: string) => JSON.stringify({ mentions: [{ externalId, body: 'Tertulia keeps time.', publishedAt: '2026-06-02T10:00:00Z' }] });
    const now = nowSeconds();
    const behind = batch('clock-behind');
    expect(await post(behind, signed(hook.id, hook.secret!, behind, String(now - 290)))).toEqual({ status: 200, body: { accepted: 1, duplicates: 0 } });
    const ahead = batch('clock-ahead');
    expect(await post(ahead, signed(hook.id, hook.secret!, ahead, String(now + 290)))).toEqual({ status: 200, body: { accepted: 1, duplicates: 0 } });
    const storedIds = async () => (await mentionsOf({ sourceIds: [hook.id] })).nodes.map((m) => m.externalId).sort();
    expect(await storedIds()).toEqual(['clock-ahead', 'clock-behind']);

    const body = batch('clock-refused');
    const { 'x-tertulia-timestamp': _, ...untimed } = signed(hook.id, hook.secret!, body, String(now));
    expect(await post(body, untimed)).toEqual({
      status: 401,
      body: { error: 'Missing x-tertulia-timestamp (the Unix time in seconds, signed with the body)' },
    });
    // Each signed as sent, so only its form is at fault.
    for (const timestamp of ['soon', `${now}.0`, '-1', '1e9']) {
      expect(await post(body, signed(hook.id, hook.secret!, body, timestamp))).toEqual({
        status: 401,
        body: { error: 'x-tertulia-timestamp must be one Unix time in whole seconds' },
      });
    }
    const outside = { status: 401, body: { error: "x-tertulia-timestamp is more than 300 seconds away from the server's clock; sign each delivery when sending it" } };
    expect(await post(body, signed(hook.id, hook.secret!, body, String(now - 600)))).toEqual(outside);
    expect(await post(body, signed(hook.id, hook.secret!, body, String(now + 600)))).toEqual(outside);
    // A fresh timestamp on a batch signed for another (a captured delivery dressed as new), and the
    // body alone signed (the rule before timestamps).
    const badSignature = { status: 401, body: { error: 'Unknown source or bad signature' } };
    expect(await post(body, signed(hook.id, hook.secret!, body, String(now), String(now - 600)))).toEqual(badSignature);
    const bodyOnly = `sha256=${createHmac('sha256', hook.secret!).update(body).digest('hex')}`;
    expect(await post(body, { ...signed(hook.id, hook.secret!, body), 'x-tertulia-signature': bodyOnly })).toEqual(badSignature);
    expect(await storedIds()).toEqual(['clock-ahead', 'clock-behind']);
  });
});

type Feed = ReturnType<typeof subscribe<{ activity: { kind: string; subject?: { __typename: string; id: string; message?: string } | null } }, Record<string, never>>>;

/** Writes probe threads until each subscription has seen one (so it is attached). */
async function waitForThread(subs: Feed[]) {
  for (let i = 0; i < 50 && !subs.every((s) => s.received.length > 0); i++) {
    await createThread(t, admin, publicSpace, 'probe');
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The events a subscription got after its probes and before the thread `fence`, alerts only. */
async function untilThread(sub: Feed, fence: string) {
  for (let i = 0; i < 100 && !sub.received.some((e) => e.data?.activity.subject?.id === fence); i++) {
    await new Promise((r) => setTimeout(r, 50));
  }
  return sub.received.map((e) => e.data!.activity).filter((a) => a.kind === 'LISTENING_ALERT');
}
