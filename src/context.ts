import DataLoader from 'dataloader';
import { GraphQLError } from 'graphql';
import type { YogaInitialContext } from 'graphql-yoga';
import { UnauthenticatedError } from './errors.js';
import type { Role } from './generated/prisma/enums.js';
import { authenticate } from './modules/identity/identity.service.js';
import { noteSeen } from './modules/members/last-seen.js';

export type Viewer = {
  id: number;
  role: Role;
  sessionId: number;
  sessionExpiresAt: Date;
  /** Set while a moderator's suspension runs: every write is refused until then. */
  suspendedUntil?: Date | null;
  /** User.lastSeenAt as read with the session (members/last-seen.ts). */
  lastSeenAt?: Date | null;
};

export interface Context {
  viewer: Viewer | null;
  /** The raw bearer token of this request, so sign-out can revoke exactly it. */
  token: string | null;
  /** The client's IP address (its TCP socket's peer, HTTP or WebSocket), for the sign-in throttle. */
  clientAddress: string | null;
  /** Per-request DataLoaders by name; see `loader()`. Never shared between requests. */
  loaders: Map<string, DataLoader<unknown, unknown>>;
  /** Over graphql-ws: closes this client's socket (a slow consumer, say). Absent over HTTP. */
  closeConnection?: (code: number, reason: string) => void;
  /** Over graphql-ws: bytes sent but not yet taken by the client (its socket's bufferedAmount). */
  transportBufferedBytes?: () => number;
}

/** The request's DataLoader called `name`, created on first use with `batch`. */
export function loader<K, V>(ctx: Context, name: string, batch: DataLoader.BatchLoadFn<K, V>): DataLoader<K, V> {
  let existing = ctx.loaders.get(name) as DataLoader<K, V> | undefined;
  if (!existing) {
    existing = new DataLoader<K, V>(batch, { maxBatchSize: 1000 });
    ctx.loaders.set(name, existing as DataLoader<unknown, unknown>);
  }
  return existing;
}

type InitialContext = Partial<YogaInitialContext> & {
  /** The client's address as transport-guards' clientAddress tells it (TRUST_PROXY applied): app.ts over HTTP, ws.ts over graphql-ws. */
  clientAddress?: string | null;
  connectionParams?: Record<string, unknown>;
  closeConnection?: Context['closeConnection'];
  transportBufferedBytes?: Context['transportBufferedBytes'];
};

/** The one context factory, used by Yoga for HTTP/SSE and by graphql-ws through getEnveloped. */
export async function createContext(initial: InitialContext): Promise<Context> {
  const token = bearerToken(initial);
  const transport = {
    clientAddress: initial.clientAddress ?? null,
    closeConnection: initial.closeConnection,
    transportBufferedBytes: initial.transportBufferedBytes,
  };
  if (!token) return { viewer: null, token: null, loaders: new Map(), ...transport };
  try {
    const viewer = await authenticate(token);
    noteSeen(viewer);
    return { viewer, token, loaders: new Map(), ...transport };
  } catch (error) {
    if (error instanceof UnauthenticatedError) {
      // A bad token is an error, not a silent downgrade to anonymous: the client must know.
      throw new GraphQLError(error.message, {
        extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } },
      });
    }
    throw error;
  }
}

function bearerToken(initial: InitialContext): string | null {
  const header =
    initial.request?.headers.get('authorization') ??
    (typeof initial.connectionParams?.authorization === 'string'
      ? initial.connectionParams.authorization
      : null);
  if (!header) return null;
  const match = /^Bearer\s+(\S+)$/i.exec(header.trim());
  if (!match) {
    throw new GraphQLError('The Authorization value must be "Bearer <token>"', {
      extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } },
    });
  }
  return match[1];
}
