// What a V8 heap snapshot holds, by constructor: count and self size. With two snapshots
// (before and after opening N connections), the difference per connection.
//
//   npx tsx bench/heap-summary.ts AFTER.heapsnapshot [--before BEFORE.heapsnapshot --per N] [--top 30]
//
// Snapshots come from `npm run bench:fanout -- --heap-snapshot` (bench/.profiles/).
import fs from 'node:fs';
import { parseArgs } from 'node:util';

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: { before: { type: 'string' }, per: { type: 'string', default: '1' }, top: { type: 'string', default: '30' } },
});
if (positionals.length !== 1) {
  console.error('usage: npx tsx bench/heap-summary.ts AFTER.heapsnapshot [--before BEFORE.heapsnapshot --per N] [--top 30]');
  process.exit(2);
}

type Totals = Map<string, { count: number; size: number }>;

/** Self size and count of every node, grouped by type and constructor name. */
function totals(file: string): Totals {
  const snapshot = JSON.parse(fs.readFileSync(file, 'utf8')) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
    nodes: number[];
    strings: string[];
  };
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const result: Totals = new Map();
  const { nodes, strings } = snapshot;
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + typeAt]];
    // Objects and closures by name; strings, arrays, code and the rest by their type.
    const key = type === 'object' || type === 'closure' ? `${type} ${strings[nodes[i + nameAt]]}` : `(${type})`;
    const entry = result.get(key) ?? { count: 0, size: 0 };
    entry.count++;
    entry.size += nodes[i + sizeAt];
    result.set(key, entry);
  }
  return result;
}

const after = totals(positionals[0]);
const before = opts.before ? totals(opts.before) : new Map() as Totals;
const per = Number(opts.per);
const rows = [...after].map(([key, a]) => {
  const b = before.get(key) ?? { count: 0, size: 0 };
  return { key, count: (a.count - b.count) / per, size: (a.size - b.size) / per };
});
rows.sort((x, y) => y.size - x.size);
const totalSize = rows.reduce((s, r) => s + r.size, 0);
console.log(`${opts.before ? `difference per ${per}` : 'total'}: ${(totalSize / 1024).toFixed(2)} KiB self size`);
for (const row of rows.slice(0, Number(opts.top))) {
  console.log(`${(row.size / 1024).toFixed(2).padStart(10)} KiB ${row.count.toFixed(1).padStart(10)} x  ${row.key}`);
}
