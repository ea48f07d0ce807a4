#!/usr/bin/env node
// Runs every test of the given files alone (`vitest run <file> -t <that test's full name>`), to prove
// that no test depends on data an earlier test of its file created. Slow (one app start per test):
// run it on the files you changed, one or two at a time, not on the whole suite. Not part of CI.
//
//   node scripts/each-test-alone.mjs test/community.test.ts [test/other.test.ts ...]
//   DATABASE_URL=... REDIS_URL=... node scripts/each-test-alone.mjs test/x.test.ts   (on PostgreSQL)
//
// Exits non-zero if any test fails alone (or if the selection does not run exactly that one test).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node scripts/each-test-alone.mjs test/<file>.test.ts [...]');
  process.exit(2);
}

const vitest = path.resolve('node_modules/.bin/vitest');
const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const work = mkdtempSync(path.join(tmpdir(), 'each-test-alone-'));
const failures = [];
let ran = 0;

try {
  for (const file of files) {
    const listed = spawnSync(vitest, ['list', file, '--json'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    if (listed.status !== 0) {
      failures.push({ file, name: '(listing the tests)', detail: listed.stderr.trim().split('\n').slice(-5).join('\n') });
      continue;
    }
    const tests = JSON.parse(listed.stdout.slice(listed.stdout.indexOf('[')));
    for (const { name } of tests) {
      // vitest matches -t against the names of the test and its describes joined by spaces (after
      // the file's); anchored at both ends, so a test whose name is a suffix of another's runs alone.
      const pattern = `(?:^|\\s)${escape(name.split(' > ').join(' '))}$`;
      const report = path.join(work, `${ran}.json`);
      const started = Date.now();
      const run = spawnSync(vitest, ['run', file, '-t', pattern, '--reporter=json', `--outputFile=${report}`], {
        encoding: 'utf8',
        maxBuffer: 64 * 1024 * 1024,
      });
      ran += 1;
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      let result;
      try {
        result = JSON.parse(readFileSync(report, 'utf8'));
      } catch {
        result = null;
      }
      const passed = result?.numPassedTests ?? 0;
      const total = (result?.numPassedTests ?? 0) + (result?.numFailedTests ?? 0);
      const skipped = result?.numPendingTests ?? 0;
      if (run.status === 0 && passed === 1 && total === 1) {
        console.log(`ok    ${file} > ${name} (${seconds}s)`);
      } else if (run.status === 0 && total === 0 && skipped >= 1) {
        console.log(`skip  ${file} > ${name} (skipped in this configuration)`);
      } else {
        const messages = (result?.testResults ?? [])
          .flatMap((suite) => [suite.message, ...suite.assertionResults.flatMap((test) => test.failureMessages)])
          .filter(Boolean)
          .map((message) => message.split('\n').slice(0, 6).join('\n'));
        const detail = messages.join('\n') || `exit ${run.status}, ${total} run, ${passed} passed\n${run.stderr.trim().split('\n').slice(-8).join('\n')}`;
        failures.push({ file, name, detail });
        console.log(`FAIL  ${file} > ${name} (${seconds}s)`);
      }
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

console.log(`\n${ran} tests run alone, ${failures.length} failed`);
for (const { file, name, detail } of failures) console.log(`\n--- ${file} > ${name}\n${detail}`);
process.exit(failures.length === 0 ? 0 : 1);
