import http from 'node:http';
import type { AddressInfo } from 'node:net';

// Real feed documents served on loopback, good and bad, for the listening poller.

export const RSS = `<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel>
    <title>Tech chatter</title>
    <link>https://news.example.com/</link>
    <description>What people say</description>
    <item>
      <guid>rss-1</guid>
      <title>Tertulia is amazing</title>
      <link>https://news.example.com/1</link>
      <description><![CDATA[<p>I love how <b>Tertulia</b> works, it is a great and wonderful tool.</p>]]></description>
      <pubDate>Tue, 10 Nov 2026 10:00:00 GMT</pubDate>
      <dc:creator>Jane Writer</dc:creator>
    </item>
    <item>
      <guid>rss-2</guid>
      <title>Discourse outage</title>
      <link>https://news.example.com/2</link>
      <description>Discourse was down for hours, a terrible and awful experience.</description>
      <pubDate>Tue, 10 Nov 2026 11:00:00 GMT</pubDate>
      <author>ops@example.com (Ops Team)</author>
    </item>
    <item>
      <guid>rss-3</guid>
      <title>Book club</title>
      <link>https://news.example.com/3</link>
      <description>Our weekly reading group met on Tuesday to talk about novels.</description>
      <pubDate>Tue, 10 Nov 2026 12:00:00 GMT</pubDate>
    </item>
  </channel>
</rss>`;

export const ATOM = `<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Blog de producto</title>
  <id>urn:uuid:60a76c80-d399-11d9-b93C-0003939e0af6</id>
  <updated>2026-11-10T18:30:02Z</updated>
  <entry>
    <title>Tértulia se cae otra vez</title>
    <link href="https://blog.example.es/caida"/>
    <id>urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a</id>
    <updated>2026-11-10T18:30:02Z</updated>
    <summary>La aplicación de Tertulia falla todo el tiempo y el soporte es pésimo, horrible.</summary>
    <author><name>Lucía</name></author>
  </entry>
</feed>`;

export const JSON_FEED = JSON.stringify({
  version: 'https://jsonfeed.org/version/1.1',
  title: 'Reviews',
  items: [
    {
      id: 'json-1',
      url: 'https://reviews.example.com/1',
      title: 'Tertulia vs Discourse',
      content_text: 'Tertulia is better than Discourse, excellent support and a brilliant API.',
      date_published: '2026-11-10T09:00:00Z',
      authors: [{ name: 'Rev Iewer' }],
    },
  ],
});

// Someone else's text with NUL characters in it (valid JSON; PostgreSQL text cannot hold them).
export const NUL_FEED = JSON.stringify({
  version: 'https://jsonfeed.org/version/1.1',
  title: 'Binary junk',
  items: [{ id: 'nul\u0000-1', title: 'Tertulia\u0000 update', content_text: 'Tertulia\u0000 shipped\u0000 a release.', authors: [{ name: 'Bot\u0000' }] }],
});

export const DUPLICATES = `<?xml version="1.0"?>
<rss version="2.0"><channel><title>Dupes</title>
  <item><guid>dup-1</guid><title>Tertulia news</title><description>Tertulia shipped a release.</description></item>
  <item><guid>dup-1</guid><title>Tertulia news</title><description>Tertulia shipped a release.</description></item>
  <item><guid>dup-2</guid><title>More Tertulia</title><description>Another Tertulia post.</description></item>
</channel></rss>`;

export type FeedServer = {
  url(path: string): string;
  /** Requests received per path, with the conditional headers each carried. */
  hits: Map<string, { ifNoneMatch?: string; ifModifiedSince?: string }[]>;
  close(): Promise<void>;
};

export async function startFeedServer(): Promise<FeedServer> {
  const hits = new Map<string, { ifNoneMatch?: string; ifModifiedSince?: string }[]>();
  const stalled = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    const path = req.url ?? '/';
    hits.set(path, [...(hits.get(path) ?? []), {
      ifNoneMatch: req.headers['if-none-match'],
      ifModifiedSince: req.headers['if-modified-since'],
    }]);
    const send = (type: string, body: string, headers: Record<string, string> = {}) =>
      res.writeHead(200, { 'content-type': type, ...headers }).end(body);
    switch (path) {
      case '/rss':
        if (req.headers['if-none-match'] === '"rss-v1"') return res.writeHead(304).end();
        return send('application/rss+xml', RSS, { etag: '"rss-v1"', 'last-modified': 'Tue, 10 Nov 2026 12:00:00 GMT' });
      case '/atom':
        return send('application/atom+xml', ATOM);
      case '/json':
        return send('application/feed+json', JSON_FEED);
      case '/duplicates':
        return send('application/rss+xml', DUPLICATES);
      case '/nul':
        return send('application/feed+json', NUL_FEED);
      case '/malformed':
        return send('application/rss+xml', '<rss version="2.0"><channel><title>Broken</title><item><title>oops</channel>');
      case '/not-json':
        return send('application/feed+json', '{"version": "https://jsonfeed.org/version/1.1", "items": [');
      case '/huge': {
        // No Content-Length: the cap must hold while reading.
        res.writeHead(200, { 'content-type': 'application/rss+xml' });
        const line = `<item><title>${'x'.repeat(1000)}</title></item>\n`;
        for (let i = 0; i < 200; i++) res.write(line);
        return res.end();
      }
      case '/huge-declared':
        return res.writeHead(200, { 'content-type': 'application/rss+xml', 'content-length': String(10 * 1024 * 1024) }).end();
      case '/slow':
        // Headers, then nothing: the fetch must give up by itself.
        res.writeHead(200, { 'content-type': 'application/rss+xml' });
        res.write('<rss version="2.0"><channel>');
        stalled.add(res);
        return;
      case '/loop-a':
        return res.writeHead(302, { location: '/loop-b' }).end();
      case '/loop-b':
        return res.writeHead(302, { location: '/loop-a' }).end();
      case '/moved':
        return res.writeHead(301, { location: '/json' }).end();
      case '/gone':
        return res.writeHead(410).end('gone');
      default:
        return res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    hits,
    async close() {
      for (const res of stalled) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
