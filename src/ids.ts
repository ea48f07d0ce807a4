import { decodeGlobalID, encodeGlobalID } from '@pothos/plugin-relay';
import { ValidationError } from './errors.js';

export { encodeGlobalID };

/** Whether `id` can be a row's id: every id is a positive PostgreSQL integer (beyond it, SQL fails). */
export function isRowId(id: number): boolean {
  return Number.isInteger(id) && id > 0 && id <= 2_147_483_647;
}

/**
 * Decodes a Relay global id that must name one of `typenames`; anything else is a
 * ValidationError on `path`, so a wrong or garbled id never reaches the database.
 */
export function decodeId<T extends string>(
  globalId: string,
  typenames: readonly T[],
  path: string,
): { typename: T; id: number } {
  let decoded: { typename: string; id: string };
  try {
    decoded = decodeGlobalID(globalId);
  } catch {
    throw ValidationError.field(path, 'is not a valid id');
  }
  const id = Number(decoded.id);
  if (!typenames.includes(decoded.typename as T) || !isRowId(id)) {
    throw ValidationError.field(path, `must be the id of a ${typenames.join(' or ')}`);
  }
  return { typename: decoded.typename as T, id };
}
