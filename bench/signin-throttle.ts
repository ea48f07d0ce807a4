// What a throttled sign-in costs next to one that is checked: the throttle answers before the
// password is hashed (argon2id, 19 MiB, 2 passes), so a locked-out attacker burns no CPU.
//   npx tsx bench/signin-throttle.ts [--requests 30]
// One in-process app on embedded PGlite in memory, 127.0.0.1, port 0; sequential requests. Prints
// the median latency of each kind and their ratio (the baseline, a hashed failure, is measured in
// the same run).
import { parseArgs } from 'node:util';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { intOption, onCleanup, runBenchmark } from './harness.js';

const { values } = parseArgs({ options: { requests: { type: 'string', default: '30' } } });
const REQUESTS = intOption(values, 'requests', 5, 10_000);
const PER_ACCOUNT = 5;

const config = loadConfig({
  PORT: '0',
  DATA_DIR: ':memory:',
  LOG_LEVEL: 'silent',
  SIGNIN_MAX_FAILURES_PER_ACCOUNT: String(PER_ACCOUNT),
  SIGNIN_MAX_FAILURES_PER_ADDRESS: '100000',
  SIGNIN_LOCKOUT_SECONDS: '3600',
});
const app = buildApp(config, createLogger(config.logLevel));
let url = '';

const SIGN_IN = 'mutation ($input: SignInInput!) { signIn(input: $input) { __typename } }';
async function signIn(email: string): Promise<{ ms: number; type: string }> {
  const started = performance.now();
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: SIGN_IN, variables: { input: { email, password: 'a wrong guess' } } }),
  });
  const body = (await response.json()) as { data: { signIn: { __typename: string } } };
  return { ms: performance.now() - started, type: body.data.signIn.__typename };
}

/** Median latency of `count` sign-ins, each of which must answer `expected`. */
async function measure(count: number, email: (i: number) => string, expected: string): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const { ms, type } = await signIn(email(i));
    if (type !== expected) throw new Error(`expected ${expected}, got ${type}`);
    times.push(ms);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
}

await runBenchmark(async () => {
  url = await app.start();
  onCleanup(() => app.stop());
  // Fresh emails: every one is looked up and hashed (an unknown email is hashed like a known one).
  const checked = await measure(REQUESTS, (i) => `fresh-${i}@bench.example`, 'InvalidCredentialsError');
  await measure(PER_ACCOUNT, () => 'victim@bench.example', 'InvalidCredentialsError');
  const throttled = await measure(REQUESTS, () => 'victim@bench.example', 'RateLimitedError');
  console.log(`requests per kind: ${REQUESTS}`);
  console.log(`median, checked failure (argon2 verify): ${checked.toFixed(2)} ms`);
  console.log(`median, throttled (RateLimitedError):    ${throttled.toFixed(2)} ms`);
  console.log(`ratio checked / throttled: ${(checked / throttled).toFixed(1)}`);
}, 300_000);
