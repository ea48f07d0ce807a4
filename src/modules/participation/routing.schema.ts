import { builder } from '../../builder.js';
import { loader } from '../../context.js';
import { ThreadType } from '../community/community.schema.js';
import { UserType } from '../identity/identity.schema.js';
import { peerAsksOf, type PeerAskRow } from './routing.js';
import { userById } from './segments.schema.js';

const PeerAskType = builder.objectRef<PeerAskRow>('PeerAsk').implement({
  description: 'An expert the peer-routing job asked to answer a thread, and whether they did.',
  fields: (t) => ({
    user: t.field({ type: UserType, description: 'The expert asked.', resolve: (a, _args, ctx) => userById(ctx, a.userId) }),
    askedAt: t.expose('askedAt', { type: 'DateTime', description: 'When they were asked (PEER_ASK notification).' }),
    answeredAt: t.expose('answeredAt', { type: 'DateTime', nullable: true, description: 'When they first replied in the thread; null: not (yet).' }),
    answered: t.boolean({ description: 'Whether they have replied in the thread since.', resolve: (a) => a.answeredAt != null }),
  }),
});

builder.objectField(ThreadType, 'peerAsks', (t) =>
  t.field({
    type: [PeerAskType],
    nullable: true,
    description:
      'Staff only (null for everyone else): the experts the thread was routed to after Space.peerAttentionAfterMinutes (at most PEER_ROUTING_MAX_EXPERTS), oldest ask first.',
    resolve: (thread, _args, ctx) =>
      loader(ctx, 'peerAsks', (ids: readonly number[]) => peerAsksOf(ctx.viewer, ids)).load(thread.id),
  }),
);
