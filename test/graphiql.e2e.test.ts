import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { activitySubscriberCount } from '../src/events/bus.js';
import { type Community, createCommunity, createSpace, createThread, reply } from './fixtures.js';
import { startTestApp, type TestApp } from './helpers.js';

// GraphiQL as people use it: the page /graphql serves (its assets inlined by
// @graphql-yoga/render-graphiql, so no CDN), driven in Debian's Chromium through playwright-core.
// Never a downloaded browser: without /usr/bin/chromium the file skips, except under CI, where
// .ci/run installs it and a skip would hide a broken GraphiQL.

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const inCi = !!process.env.CI && process.env.CI !== 'false' && process.env.CI !== '0';
const missing = !existsSync(CHROMIUM);
const SKIP_REASON = `${CHROMIUM} not found: install Debian's chromium (apt-get install chromium) to run the GraphiQL browser test`;

// Selectors of the GraphiQL 5 that @graphql-yoga/render-graphiql 5.24 bundles: its editors are
// Monaco editors told apart by their model URI, its panes are labelled sections.
const OPERATION_EDITOR = '.monaco-editor[data-uri$="-operation.graphql"]';
const HEADERS_EDITOR = '.monaco-editor[data-uri$="-request-headers.json"]';
const HEADERS_TAB = '.graphiql-editor-tools button[data-name="headers"]';
const EXECUTE_BUTTON = 'button.graphiql-execute-button';

/** Waits for a condition on the page or the server: a browser on two busy cores can be slow. */
const eventually = <T>(read: () => T | Promise<T>) => expect.poll(read, { timeout: 15_000, interval: 25 });

let t: TestApp;
let community: Community;

beforeAll(async () => {
  if (missing && inCi) throw new Error(`CI must run the GraphiQL browser test, but ${CHROMIUM} is missing (.ci/run installs it)`);
  if (missing) {
    // The default reporter shows a skip but not its reason.
    console.warn(`Skipping the GraphiQL browser test: ${SKIP_REASON}`);
    return;
  }
  t = await startTestApp();
  community = await createCommunity(t);
});
afterAll(async () => {
  await t?.stop();
});

/** What the page did that it should not have: any of these fails the test. */
type Problems = { consoleErrors: string[]; pageErrors: string[]; failedRequests: string[]; offOrigin: string[] };

let browser: { context: BrowserContext; page: Page; problems: Problems; userDataDir: string } | undefined;

beforeEach((ctx) => {
  ctx.skip(missing && !inCi, SKIP_REASON);
});

afterEach(async () => {
  if (!browser) return;
  const { context, problems, userDataDir } = browser;
  browser = undefined;
  try {
    expect(problems).toEqual({ consoleErrors: [], pageErrors: [], failedRequests: [], offOrigin: [] });
  } finally {
    await context.close();
    await rm(userDataDir, { recursive: true, force: true });
  }
});

/**
 * A fresh browser profile (nothing of GraphiQL's saved tabs or headers from another test) on
 * /graphql, with `query` in the operation editor through GraphiQL's `?query=` parameter.
 */
async function openGraphiql(query?: string): Promise<Page> {
  const userDataDir = await mkdtemp(join(tmpdir(), 'tertulia-graphiql-'));
  const context = await chromium
    .launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      // Big enough that Monaco renders every line of the results read below, none of them wrapped.
      viewport: { width: 1600, height: 1000 },
    })
    .catch(async (error: unknown) => {
      await rm(userDataDir, { recursive: true, force: true });
      throw error;
    });
  const origin = new URL(t.url).origin;
  const problems: Problems = { consoleErrors: [], pageErrors: [], failedRequests: [], offOrigin: [] };
  const fromApp = (url: string) =>
    url.startsWith(`${origin}/`) || url.startsWith(`blob:${origin}/`) || url.startsWith('data:') || url === 'about:blank';
  // GraphiQL must work offline: anything for another host is recorded and refused, as if the
  // machine had no network (WebSockets are not routed; they are checked as they open).
  await context.route((url) => !fromApp(url.href), async (route) => {
    problems.offOrigin.push(route.request().url());
    await route.abort('internetdisconnected');
  });
  context.on('requestfailed', (request) => problems.failedRequests.push(`${request.url()}: ${request.failure()?.errorText}`));
  const page = context.pages()[0] ?? (await context.newPage());
  browser = { context, page, problems, userDataDir };
  page.on('console', (message) => {
    if (message.type() === 'error') problems.consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => problems.pageErrors.push(error.message));
  page.on('websocket', (socket) => {
    if (!socket.url().startsWith(origin.replace(/^http/, 'ws') + '/')) problems.offOrigin.push(socket.url());
  });

  await page.goto(query === undefined ? t.url : `${t.url}?query=${encodeURIComponent(query)}`);
  await eventually(() => executeButtonLabel(page)).toBe('Execute query (Ctrl-Enter)');
  if (query !== undefined) await eventually(() => editorText(page.locator(OPERATION_EDITOR))).toBe(query);
  return page;
}

/** "Execute query (Ctrl-Enter)", or "Stop query (Ctrl-Enter)" while a subscription runs. */
function executeButtonLabel(page: Page): Promise<string | null> {
  return page.locator(EXECUTE_BUTTON).getAttribute('aria-label');
}

/**
 * The text a Monaco editor shows: its rendered lines, top to bottom (Monaco renders only the
 * lines in view, positioned rather than in DOM order, spaces as non-breaking ones).
 */
function editorText(editor: Locator): Promise<string> {
  return editor.evaluate((element) =>
    [...element.querySelectorAll<HTMLElement>('.view-lines .view-line')]
      .map((line) => ({ top: Number.parseFloat(line.style.top), text: line.textContent ?? '' }))
      .sort((a, b) => a.top - b.top)
      .map((line) => line.text.replaceAll('\u00a0', ' '))
      .join('\n'),
  );
}

/** The result pane's JSON, parsed; its raw text when it is not JSON (empty, or mid-render). */
async function resultPane(page: Page): Promise<unknown> {
  const text = await editorText(page.getByRole('region', { name: 'Result Window' }));
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Replaces an editor's content as a person would, typing it in; checks what it then holds. */
async function typeInto(page: Page, editor: Locator, text: string): Promise<void> {
  await editor.click();
  await page.keyboard.press('ControlOrMeta+A');
  // Emptied first: typing `{` over a selection makes Monaco wrap the selection in braces.
  await page.keyboard.press('Backspace');
  await page.keyboard.insertText(text);
  await eventually(() => editorText(editor)).toBe(text);
}

async function execute(page: Page): Promise<void> {
  await page.locator(EXECUTE_BUTTON).click();
}

describe('GraphiQL at /graphql in Chromium', { timeout: 60_000 }, () => {
  it('runs the query given in its URL and shows the exact result', async () => {
    const { manager, alice, bob } = community;
    const spaceId = await createSpace(t, manager, 'graphiql-lounge');
    const threadId = await createThread(t, alice, spaceId, 'Hello from GraphiQL', 'Is this thing on?');
    await reply(t, bob, threadId, 'Loud and clear');
    const page = await openGraphiql(
      `query LoungeThreads {\n  threads(spaceId: "${spaceId}", first: 10) {\n    nodes { id title replyCount author { displayName } space { slug } }\n  }\n}`,
    );

    await execute(page);

    await eventually(() => resultPane(page))
      .toEqual({
        data: {
          threads: {
            nodes: [{ id: threadId, title: 'Hello from GraphiQL', replyCount: 1, author: { displayName: 'Alice' }, space: { slug: 'graphiql-lounge' } }],
          },
        },
      });
  });

  it('sends the bearer token set in its Headers tab', async () => {
    const query = '{ viewer { displayName role } }';
    const page = await openGraphiql(query);
    await execute(page);
    await eventually(() => resultPane(page)).toEqual({ data: { viewer: null } });

    await page.locator(HEADERS_TAB).click();
    await typeInto(page, page.locator(HEADERS_EDITOR), JSON.stringify({ Authorization: `Bearer ${community.alice.token}` }));
    await execute(page);

    await eventually(() => resultPane(page)).toEqual({ data: { viewer: { displayName: 'Alice', role: 'MEMBER' } } });
  });

  it('streams a subscription over graphql-ws, live, and stops it', async () => {
    const { alice, bob, publicSpace } = community;
    const page = await openGraphiql();
    // Typed into the editor this time, as a person exploring the API would.
    await typeInto(
      page,
      page.locator(OPERATION_EDITOR),
      'subscription LiveActivity { activity { kind subject { __typename id } thread { title } } }',
    );
    await execute(page);
    // Live once the server has attached it; the button offers to stop it meanwhile.
    await eventually(() => activitySubscriberCount()).toBe(1);
    await eventually(() => executeButtonLabel(page)).toBe('Stop query (Ctrl-Enter)');

    // Writes through the HTTP API; the pane shows each event as it arrives.
    const threadId = await createThread(t, alice, publicSpace, 'Live from the API', 'Streaming now');
    await eventually(() => resultPane(page)).toEqual({
      data: { activity: { kind: 'THREAD_CREATED', subject: { __typename: 'Thread', id: threadId }, thread: { title: 'Live from the API' } } },
    });
    const postId = await reply(t, bob, threadId, 'Seen it live');
    await eventually(() => resultPane(page)).toEqual({
      data: { activity: { kind: 'POST_CREATED', subject: { __typename: 'Post', id: postId }, thread: { title: 'Live from the API' } } },
    });

    // Stopping it in GraphiQL ends the subscription on the server.
    await execute(page);
    await eventually(() => activitySubscriberCount()).toBe(0);
    await eventually(() => executeButtonLabel(page)).toBe('Execute query (Ctrl-Enter)');
  });

  it('signs in a subscription with the token of its Headers tab', async () => {
    // GraphiQL sends its headers with each operation (graphql-ws `extensions.headers`), not when
    // connecting; a members-only space shows that the subscription is Alice's, not anonymous.
    const { alice, bob, membersSpace } = community;
    const page = await openGraphiql();
    await page.locator(HEADERS_TAB).click();
    await typeInto(page, page.locator(HEADERS_EDITOR), JSON.stringify({ Authorization: `Bearer ${alice.token}` }));
    await typeInto(
      page,
      page.locator(OPERATION_EDITOR),
      `subscription MembersLounge { activity(filter: { spaceIds: ["${membersSpace}"] }) { kind actor { displayName } thread { title } } }`,
    );
    await execute(page);
    await eventually(() => activitySubscriberCount()).toBe(1);

    await createThread(t, bob, membersSpace, 'Members only', 'Not for anonymous eyes');
    await eventually(() => resultPane(page)).toEqual({
      data: { activity: { kind: 'THREAD_CREATED', actor: { displayName: 'Bob' }, thread: { title: 'Members only' } } },
    });

    await execute(page);
    await eventually(() => activitySubscriberCount()).toBe(0);
  });
});
