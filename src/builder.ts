import SchemaBuilder, { PothosValidationError } from '@pothos/core';
import ErrorsPlugin from '@pothos/plugin-errors';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin, { decodeGlobalID } from '@pothos/plugin-relay';
import SimpleObjectsPlugin from '@pothos/plugin-simple-objects';
import { GraphQLError, Kind } from 'graphql';
import type { Context } from './context.js';
import { prisma } from './db/client.js';
import {
  AutomodBlockedError,
  ConflictError,
  ForbiddenError,
  InvalidCredentialsError,
  NotFoundError,
  RateLimitedError,
  UnauthenticatedError,
  ValidationError,
} from './errors.js';
import type PrismaTypes from './generated/pothos-prisma-types.js';
import { getDatamodel } from './generated/pothos-prisma-types.js';
import { isRowId } from './ids.js';
import { MAX_PAGE_SIZE } from './pagination.js';
import { GLOBAL_ID_DESCRIPTION } from './schema-docs.js';
import { parseDateTime } from './validation.js';
import { loadNodes } from './nodes.js';

export const builder = new SchemaBuilder<{
  Context: Context;
  PrismaTypes: PrismaTypes;
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    ID: { Input: string; Output: string | number | bigint };
  };
  DefaultFieldNullability: false;
  DefaultEdgesNullability: false;
  DefaultNodeNullability: false;
}>({
  // Fields are non-null unless they say otherwise: clients can trust what they select.
  defaultFieldNullability: false,
  // No scope-auth: role gates are the services' (identity/guards.ts), one style for every path.
  plugins: [PrismaPlugin, RelayPlugin, ErrorsPlugin, SimpleObjectsPlugin],
  prisma: {
    client: () => prisma(),
    dmmf: getDatamodel(),
    exposeDescriptions: false,
    filterConnectionTotalCount: true,
    maxConnectionSize: 100,
    defaultConnectionSize: 20,
    onUnusedQuery: process.env.NODE_ENV === 'production' ? null : 'warn',
  },
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    edgesFieldOptions: { nullable: false, description: 'The items of this page with their cursors, in list order.' },
    nodeFieldOptions: { nullable: false, description: 'The item at this position of the list.' },
    nodesOnConnection: { description: 'The items of this page, in list order: `edges { node }` without the cursors.' },
    nodeTypeOptions: { description: 'Anything with a global id, fetchable with node(id:) or nodes(ids:).' },
    // Descriptions of the paging and node boilerplate, the same on every connection. What names
    // a type (A page of Thread items...) is filled in by describeBoilerplate in schema-docs.ts.
    idFieldOptions: { description: GLOBAL_ID_DESCRIPTION },
    nodeQueryOptions: {
      description: 'The object with this global id, or null when there is none or you may not see it.',
      args: { id: { description: 'A global id, as answered by an `id` field.' } },
    },
    // One statement per node type, not one per id (see nodes.ts); at most 100 ids (limits.ts).
    nodesQueryOptions: {
      description: 'The objects with these global ids, in the order asked; null for each one that does not exist or that you may not see.',
      args: { ids: { description: 'Global ids, as answered by `id` fields; at most 100. Each answer is at the same place as its id.' } },
      resolve: (_root, args, ctx, info) => loadNodes(args.ids, ctx, info),
    },
    pageInfoTypeOptions: { description: 'Where a page sits in its list: the cursors at its ends, and whether more items lie beyond them.' },
    hasNextPageFieldOptions: { description: 'Whether items follow this page. Reliable when paging forwards with `first`.' },
    hasPreviousPageFieldOptions: { description: 'Whether items precede this page. Reliable when paging backwards with `last`.' },
    startCursorFieldOptions: { description: 'The cursor of the first item of the page, to pass as `before`; null when the page is empty.' },
    endCursorFieldOptions: { description: 'The cursor of the last item of the page, to pass as `after`; null when the page is empty.' },
    pageInfoFieldOptions: { description: 'The cursors at the ends of this page, and whether more items lie beyond them.' },
    cursorFieldOptions: { description: 'Where this item sits in the list: pass it as `after` or `before` to page from here.' },
    firstArgOptions: { description: `How many items to answer from the start of the list (after \`after\`), 0 to ${MAX_PAGE_SIZE}. \`first\` or \`last\` is required.` },
    lastArgOptions: { description: `How many items to answer from the end of the list (before \`before\`), 0 to ${MAX_PAGE_SIZE}, to page backwards. \`first\` or \`last\` is required.` },
    afterArgOptions: { description: 'Answer the items after this cursor: an edge `cursor`, or `pageInfo.endCursor` of the page before.' },
    beforeArgOptions: { description: 'Answer the items before this cursor: an edge `cursor`, or `pageInfo.startCursor` of the page after.' },
    // node(id) and nodes(ids): an id part that no row can have is a malformed id, like bad
    // base64, not an internal error from the database.
    decodeGlobalID: (globalID) => {
      const decoded = decodeGlobalID(globalID);
      if (!isRowId(Number(decoded.id))) throw new PothosValidationError(`Invalid global ID: ${globalID}`);
      return decoded;
    },
  },
  errors: {
    directResult: true,
    defaultTypes: [],
    // createThread -> CreateThreadResult = ThreadPayload | ValidationError | ...
    defaultUnionOptions: { name: ({ fieldName }) => `${fieldName[0].toUpperCase()}${fieldName.slice(1)}Result` },
  },
});

builder.queryType({ description: 'Reads. What you may not see is left out of lists, or null.' });
builder.mutationType({ description: 'Writes. Each takes one `input` and answers a <Name>Result union of its payload and the errors it can end in.' });
builder.subscriptionType({ description: 'Live updates over graphql-ws or Server-Sent Events.' });

builder.scalarType('DateTime', {
  description: 'An RFC 3339 (ISO-8601) date-time. Answered in UTC, e.g. 2026-11-23T18:44:31.000Z; accepted with any offset, seconds included.',
  serialize: (value) => value.toISOString(),
  parseValue: (value) => parseDateTimeScalar(value),
  parseLiteral: (ast) => {
    if (ast.kind !== Kind.STRING) throw new GraphQLError('DateTime must be a string');
    return parseDateTimeScalar(ast.value);
  },
});

/** DateTime input, by validation.ts's parseDateTime: an RFC 3339 instant in the years 0001 to 9999. */
function parseDateTimeScalar(value: unknown): Date {
  try {
    return parseDateTime(value);
  } catch (error) {
    throw new GraphQLError(`DateTime ${(error as Error).message}`);
  }
}

// Every expected failure is a type implementing Error, so clients can select `... on Error`.
export const ErrorInterface = builder.interfaceRef<Error>('Error').implement({
  description: 'An expected failure: returned as data in a mutation result union.',
  fields: (t) => ({ message: t.exposeString('message', { description: 'What went wrong, in English, for people.' }) }),
});

const FieldErrorType = builder.objectRef<{ path: string[]; message: string }>('FieldError').implement({
  description: 'One invalid input field: its path from the input root, and what is wrong.',
  fields: (t) => ({
    path: t.exposeStringList('path', { description: 'From the argument down, e.g. ["input", "title"].' }),
    message: t.exposeString('message', { description: 'What is wrong with the value, e.g. "must be at most 200 characters".' }),
  }),
});

builder.objectType(ValidationError, {
  name: 'ValidationError',
  description: 'The input was rejected; nothing was written.',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    fieldErrors: t.field({ type: [FieldErrorType], description: 'One entry per invalid field.', resolve: (e) => e.fieldErrors }),
  }),
});

builder.objectType(NotFoundError, {
  name: 'NotFoundError',
  description: 'What the input refers to does not exist, or is not visible to you.',
  interfaces: [ErrorInterface],
  fields: (t) => ({ id: t.exposeString('id', { description: 'What was not found, as in the message: usually its database row id, not its global id.' }) }),
});

builder.objectType(ForbiddenError, {
  name: 'ForbiddenError',
  description: 'You are signed in but not allowed to do this.',
  interfaces: [ErrorInterface],
});

builder.objectType(UnauthenticatedError, {
  name: 'UnauthenticatedError',
  description: 'This needs a signed-in user: send "Authorization: Bearer <token>".',
  interfaces: [ErrorInterface],
});

builder.objectType(ConflictError, {
  name: 'ConflictError',
  description: 'The change conflicts with the current state (a duplicate, or a rule that must hold).',
  interfaces: [ErrorInterface],
});

builder.objectType(InvalidCredentialsError, {
  name: 'InvalidCredentialsError',
  description: 'The email and password do not match an account.',
  interfaces: [ErrorInterface],
});

builder.objectType(RateLimitedError, {
  name: 'RateLimitedError',
  description: 'Too many attempts for this account or from this address (SIGNIN_* settings); nothing was tried. Wait, then try again.',
  interfaces: [ErrorInterface],
  fields: (t) => ({
    retryAfterSeconds: t.exposeInt('retryAfterSeconds', { description: 'Whole seconds to wait before the next attempt can be made.' }),
  }),
});

builder.objectType(AutomodBlockedError, {
  name: 'AutomodBlockedError',
  description: 'An auto-moderation rule refused what you wrote; nothing was written.',
  interfaces: [ErrorInterface],
  fields: (t) => ({ ruleName: t.exposeString('ruleName', { description: 'The name of the rule that refused it.' }) }),
});

/** The errors any write can end in; mutations list these plus their own. */
export const WRITE_ERRORS = [ValidationError, NotFoundError, ForbiddenError, UnauthenticatedError, ConflictError];

/**
 * `<Node>Connection` and `<Node>Edge`, for a node type that more than one field pages (a case
 * list for requesters and one for staff): one pair of types per node, as clients expect, instead
 * of one per field. prismaConnection and relatedConnection hand `totalCount` over as a number
 * or a function, whichever field it is.
 */
export function sharedConnection<Node extends Parameters<typeof builder.connectionObject>[0]['type']>(type: Node, nodeName: string) {
  return builder.connectionObject(
    {
      type,
      name: `${nodeName}Connection`,
      fields: (t) => ({
        totalCount: t.int({
          resolve: (connection) => {
            const { totalCount } = connection as { totalCount?: number | (() => number | Promise<number>) };
            if (totalCount === undefined) throw new Error(`${nodeName}Connection needs totalCount on every field that uses it`);
            return typeof totalCount === 'function' ? totalCount() : totalCount;
          },
        }),
      }),
    },
    { name: `${nodeName}Edge` },
  );
}
