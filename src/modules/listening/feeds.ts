import { createHash } from 'node:crypto';
import { lookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { extractFromJson, extractFromXml } from '@extractus/feed-extractor';
import ipaddr from 'ipaddr.js';
import { Agent, fetch, type Response } from 'undici';
import type { ListeningSourceKind } from '../../generated/prisma/enums.js';

/** One item of a feed, as listening ingests it. */
export type FeedItem = {
  externalId: string;
  url: string | null;
  title: string;
  body: string;
  author: string | null;
  publishedAt: Date | null;
};

export type FeedLimits = {
  timeoutMs: number;
  maxBytes: number;
  maxRedirects: number;
  maxItems: number;
  /** Whether feeds may live on loopback, private or link-local addresses (off: SSRF guard). */
  allowPrivateNetworks: boolean;
};

type FetchedFeed =
  | { notModified: true }
  | { notModified: false; items: FeedItem[]; etag: string | null; lastModified: string | null };

/** Why a poll failed, in words an operator can act on (stored as the source's lastError). */
export class FeedError extends Error {}

const ACCEPT: Record<Exclude<ListeningSourceKind, 'WEBHOOK'>, string> = {
  RSS: 'application/rss+xml, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.1',
  ATOM: 'application/atom+xml, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.1',
  JSON_FEED: 'application/feed+json, application/json;q=0.9, */*;q=0.1',
};
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * Fetches a feed with a conditional request (ETag / Last-Modified), following at most
 * `maxRedirects` redirects by hand (loops refused), within `timeoutMs` for the whole exchange and
 * reading at most `maxBytes` of body; then parses it. Every failure is a FeedError.
 */
export async function fetchFeed(
  source: { url: string; kind: Exclude<ListeningSourceKind, 'WEBHOOK'>; etag: string | null; lastModified: string | null },
  limits: FeedLimits,
): Promise<FetchedFeed> {
  const signal = AbortSignal.timeout(limits.timeoutMs);
  const visited = new Set<string>();
  const checkedUrl = (candidate: string) => checkUrl(candidate, limits.allowPrivateNetworks);
  let url = checkedUrl(source.url);
  try {
    for (;;) {
      visited.add(url);
      const response = await fetch(url, {
        redirect: 'manual',
        signal,
        dispatcher: limits.allowPrivateNetworks ? anyNetwork : publicNetworksOnly,
        headers: {
          accept: ACCEPT[source.kind],
          'user-agent': 'Tertulia-Listening/1.0',
          ...(source.etag && { 'if-none-match': source.etag }),
          ...(source.lastModified && { 'if-modified-since': source.lastModified }),
        },
      });
      if (REDIRECTS.has(response.status)) {
        await response.body?.cancel();
        const location = response.headers.get('location');
        if (!location) throw new FeedError(`HTTP ${response.status} without a Location header`);
        const next = checkedUrl(new URL(location, url).toString());
        if (visited.has(next)) throw new FeedError(`Redirect loop: ${next} was already visited`);
        if (visited.size > limits.maxRedirects) throw new FeedError(`More than ${limits.maxRedirects} redirects`);
        url = next;
        continue;
      }
      if (response.status === 304) {
        await response.body?.cancel();
        return { notModified: true };
      }
      if (!response.ok) {
        await response.body?.cancel();
        throw new FeedError(`HTTP ${response.status} from ${url}`);
      }
      const text = await readCapped(response, limits.maxBytes);
      return {
        notModified: false,
        items: parseFeed(source.kind, text).slice(0, limits.maxItems),
        etag: response.headers.get('etag'),
        lastModified: response.headers.get('last-modified'),
      };
    }
  } catch (error) {
    if (error instanceof FeedError) throw error;
    if ((error as { cause?: unknown }).cause instanceof FeedError) throw (error as { cause: FeedError }).cause;
    if (signal.aborted) throw new FeedError(`No complete answer within ${limits.timeoutMs} ms`);
    throw new FeedError(`Could not fetch ${url}: ${describe(error)}`);
  }
}

function checkUrl(url: string, allowPrivateNetworks: boolean): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new FeedError(`Not a URL: ${url}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new FeedError(`Only http and https feeds are fetched, not ${parsed.protocol}`);
  // An address in the URL itself is never looked up, so it is checked here.
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  if (!allowPrivateNetworks && ipaddr.isValid(host) && !isPublic(host)) throw notPublic(host, host);
  return parsed.toString();
}

// Feed URLs come from users: unless allowed, a poll must not reach the server's own networks
// (loopback, private, link-local, cloud metadata). The check runs on the addresses the connection
// really uses, so a name that resolves to a private address later (DNS rebinding) is caught too.
const isPublic = (address: string) => ipaddr.process(address).range() === 'unicast';
const notPublic = (host: string, address: string) =>
  new FeedError(`${host} is a non-public address (${address}); set LISTENING_ALLOW_PRIVATE_NETWORKS=true to poll internal feeds`);

function publicOnlyLookup(
  hostname: string,
  options: LookupOptions,
  callback: (error: Error | null, address: string | LookupAddress[], family?: number) => void,
): void {
  lookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, []);
    const blocked = addresses.find((entry) => !isPublic(entry.address));
    if (blocked) return callback(notPublic(hostname, blocked.address), []);
    if (options.all) return callback(null, addresses);
    callback(null, addresses[0].address, addresses[0].family);
  });
}

const publicNetworksOnly = new Agent({ connect: { lookup: publicOnlyLookup } });
const anyNetwork = new Agent();

async function readCapped(response: Response, maxBytes: number): Promise<string> {
  const tooBig = () => new FeedError(`The feed is larger than ${maxBytes} bytes`);
  if (Number(response.headers.get('content-length') ?? 0) > maxBytes) {
    await response.body?.cancel();
    throw tooBig();
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = response.body!.getReader();
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
    size += chunk.value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw tooBig();
    }
    chunks.push(chunk.value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

type Entry = { id?: string; title?: string; link?: string; published?: string; description?: string; author?: string };

/** Items of an RSS 2.0 / Atom / RDF document, or of a JSON Feed. */
function parseFeed(kind: Exclude<ListeningSourceKind, 'WEBHOOK'>, text: string): FeedItem[] {
  let entries: Entry[];
  const options = { descriptionMaxLen: 0, getExtraEntryFields: (raw: unknown) => ({ author: entryAuthor(raw) }) };
  try {
    if (kind === 'JSON_FEED') {
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        throw new FeedError('The JSON Feed is not valid JSON');
      }
      entries = (extractFromJson(json as Record<string, unknown>, options).entries ?? []) as Entry[];
    } else {
      entries = (extractFromXml(text, options).entries ?? []) as Entry[];
    }
  } catch (error) {
    if (error instanceof FeedError) throw error;
    throw new FeedError(`Unreadable ${kind === 'JSON_FEED' ? 'JSON Feed' : 'feed'}: ${describe(error)}`);
  }
  return entries.map((entry) => {
    const title = (entry.title ?? '').trim();
    const body = (entry.description ?? '').trim();
    const url = entry.link?.trim() || null;
    const published = entry.published ? new Date(entry.published) : null;
    return {
      // The feed's own id; else its link; else what it says, so the same item is the same id.
      externalId: entry.id?.trim() || url || `sha256:${createHash('sha256').update(`${title}\n${body}`).digest('hex')}`,
      url,
      title,
      body,
      author: entry.author?.trim() || null,
      publishedAt: published && !Number.isNaN(published.getTime()) ? published : null,
    };
  });
}

// Where each format keeps an item's author: RSS <author> or <dc:creator>, Atom <author><name>,
// JSON Feed authors[].name (1.1) or author.name (1.0).
function entryAuthor(raw: unknown): string | undefined {
  const item = raw as Record<string, unknown>;
  const name = (value: unknown): string | undefined => {
    if (typeof value === 'string') return value;
    if (Array.isArray(value)) return name(value[0]);
    if (value && typeof value === 'object' && 'name' in value) return name((value as { name: unknown }).name);
    if (value && typeof value === 'object' && '#text' in value) return name((value as { '#text': unknown })['#text']);
    return undefined;
  };
  return name(item.author) ?? name(item['dc:creator']) ?? name(item.authors);
}

function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}
