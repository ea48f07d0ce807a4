// Label values that come from clients (operation names) must not grow a registry without bound.

/** Distinct operation names one registry keeps as label values; later new names count as `other`. */
export const MAX_OPERATION_NAMES = 200;

const GRAPHQL_NAME = /^[_A-Za-z][_0-9A-Za-z]{0,99}$/;

/** Hands out at most `max` distinct operation names as label values; the rest become `other`. */
export class OperationNames {
  private readonly seen = new Set<string>();
  constructor(private readonly max = MAX_OPERATION_NAMES) {}

  label(name: string | null | undefined): string {
    if (!name) return 'anonymous';
    if (this.seen.has(name)) return name;
    if (this.seen.size >= this.max || !GRAPHQL_NAME.test(name)) return 'other';
    this.seen.add(name);
    return name;
  }
}

const CODE = /^[A-Z][A-Z0-9_]{0,59}$/;

/** An error code as a label value: the server's own codes are a closed set; anything else is `OTHER`. */
export function codeLabel(code: unknown): string {
  return typeof code === 'string' && CODE.test(code) ? code : 'OTHER';
}
