// The baseline of bench/fanout.ts: the raw transport, no GraphQL. `node:http` + a bare `ws`
// server speaking just enough of graphql-transport-ws for the same graphql-ws clients
// (connection_init -> connection_ack, subscribe, complete, ping -> pong), with no database, no
// authentication and no filtering. Started in a child process of its own, like the app:
//   node --import tsx bench/fanout-baseline.ts   (with an IPC channel)
//
// A POST of the writer's replyToThread request "creates" a post: it builds the event the app's
// subscription would send (the same fields and shape; the actor from BENCH_ACTOR_ID and
// BENCH_ACTOR_NAME), serializes it once, sends one `next` frame per subscription, then answers
// the POST as the app does. So the app's cost over this is what GraphQL execution, graphql-ws,
// authorization and the database add to fanning out one frame to every socket.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { memoryNow, serveParent, wallClock } from './ipc.js';

const actor = { id: process.env.BENCH_ACTOR_ID ?? '', displayName: process.env.BENCH_ACTOR_NAME ?? '' };
if (!actor.id) throw new Error('BENCH_ACTOR_ID is not set');

// Open sockets and the operation ids subscribed on each.
const operations = new Map<WebSocket, Set<string>>();
let published: [number, number][] = [];
let nextPostId = 1;
let nextEventId = 1;

// The app's id formats (Relay global ids, src/ids.ts; activity cursors, activity.service.ts),
// written out so this process loads nothing of the app.
const globalId = (type: string, id: number) => Buffer.from(`${type}:${id}`).toString('base64');
const activityCursor = (id: number) => `act_${id.toString(16).padStart(16, '0')}`;

function createPost(body: string): string {
  const postId = nextPostId++;
  const now = new Date().toISOString();
  const event = {
    id: activityCursor(nextEventId++),
    kind: 'POST_CREATED',
    occurredAt: now,
    actor,
    subject: { __typename: 'Post', id: globalId('Post', postId), body, createdAt: now },
  };
  if (published.length < 1_000_000) published.push([postId, wallClock()]);
  const payload = JSON.stringify({ data: { activity: event } });
  for (const [socket, ids] of operations) {
    for (const id of ids) socket.send(`{"id":${JSON.stringify(id)},"type":"next","payload":${payload}}`);
  }
  return JSON.stringify({ data: { replyToThread: { __typename: 'PostPayload', post: { id: event.subject.id } } } });
}

const server = http.createServer((req, res) => {
  const reply = (status: number, json: string) => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(json) });
    res.end(json);
  };
  if (req.method !== 'POST' || (req.url ?? '/').split('?')[0] !== '/graphql') return reply(404, '{"error":"POST /graphql"}');
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    let body: unknown;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')).variables.input.body;
    } catch {
      body = undefined;
    }
    if (typeof body !== 'string') return reply(400, '{"errors":[{"message":"variables.input.body must be a string"}]}');
    reply(200, createPost(body));
  });
});

const wsServer = new WebSocketServer({ server, path: '/graphql' });
wsServer.on('connection', (socket) => {
  const ids = new Set<string>();
  let acknowledged = false;
  socket.on('message', (data) => {
    let message: { type?: string; id?: string };
    try {
      message = JSON.parse(String(data));
    } catch {
      return socket.close(4400, 'Invalid message');
    }
    if (message.type === 'connection_init') {
      acknowledged = true;
      operations.set(socket, ids);
      socket.send('{"type":"connection_ack"}');
    } else if (message.type === 'subscribe' && acknowledged && typeof message.id === 'string') ids.add(message.id);
    else if (message.type === 'complete' && typeof message.id === 'string') ids.delete(message.id);
    else if (message.type === 'ping') socket.send('{"type":"pong"}');
  });
  socket.on('close', () => operations.delete(socket));
});

const send = serveParent(
  {
    memory: ({ gc }) => {
      let subscribers = 0;
      for (const ids of operations.values()) subscribers += ids.size;
      return { ...memoryNow(gc), sockets: wsServer.clients.size, subscribers };
    },
    published: () => {
      const times = published;
      published = [];
      return { times };
    },
  },
  async () => {
    for (const socket of wsServer.clients) socket.terminate();
    await new Promise<void>((resolve) => wsServer.close(() => resolve()));
    await new Promise<void>((resolve) => server.close(() => resolve()));
  },
);

await new Promise<void>((resolve, reject) => {
  server.once('error', reject);
  server.listen(0, '127.0.0.1', () => resolve());
});
const { port } = server.address() as AddressInfo;
send({ type: 'ready', url: `http://127.0.0.1:${port}/graphql` });
