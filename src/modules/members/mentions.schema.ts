import { builder } from '../../builder.js';
import { loader, type Context } from '../../context.js';
import type { User } from '../../generated/prisma/client.js';
import { PostType, ThreadType } from '../community/community.schema.js';
import { canSeeContent, isCollapsedFor, isDeletedFor } from '../community/policy.js';
import { UserType } from '../identity/identity.schema.js';
import { mentionedUsers, parseMentions, resolveMentions } from './mentions.js';

// Thread.mentions and Post.mentions: the users a body @mentions, for a front end to render links.
// The rules (parsing, the cap, redirects) are in mentions.ts.

type Body = { body: string; moderationStatus: Parameters<typeof canSeeContent>[1]['moderationStatus']; authorId: number; deletedAt: Date | null };

/** The users `content`'s body mentions, as the viewer may read it: none when the body is withheld. */
async function mentionsOf(content: Body, ctx: Context): Promise<User[]> {
  const { viewer } = ctx;
  if (!canSeeContent(viewer, content) || isCollapsedFor(viewer, content) || isDeletedFor(viewer, content)) return [];
  const handles = parseMentions(content.body);
  if (handles.length === 0) return [];
  // Every body of the response in one batch: two statements (current handles, then redirects).
  const users = await loader(ctx, 'userByHandle', resolveMentions).loadMany(handles);
  const found = new Map<string, User>();
  handles.forEach((handle, i) => {
    const user = users[i];
    if (user && !(user instanceof Error)) found.set(handle, user);
  });
  return mentionedUsers(handles, found);
}

const description =
  'The users its body @mentions, each once, in order of first mention: the first MAX_MENTIONS_PER_POST (default 10) distinct handles ' +
  '(the rest are plain text, as they notify no one), by current handle or a given-up one still redirecting to its owner; ' +
  'handles that name nobody, and mentions in code, email addresses or URLs, are left out. Empty when the body is withheld from you.';

builder.prismaObjectFields(ThreadType, (t) => ({
  mentions: t.field({ type: [UserType], description, resolve: (thread, _args, ctx) => mentionsOf(thread, ctx) }),
}));

builder.prismaObjectFields(PostType, (t) => ({
  mentions: t.field({ type: [UserType], description, resolve: (post, _args, ctx) => mentionsOf(post, ctx) }),
}));
