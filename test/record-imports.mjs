// `node --import ./test/record-imports.mjs ...`: appends the URL of every module the process
// resolves to the file named by RECORD_IMPORTS_FILE, one a line (tracing.test.ts reads it to
// prove the OpenTelemetry packages are never loaded while tracing is off).
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { pathToFileURL } from 'node:url';
import { isMainThread } from 'node:worker_threads';

// Loaded twice: by --import in the main thread (which registers the hooks), then as the hooks
// module in Node's loader thread (whose `resolve` below does the recording).
if (isMainThread && process.env.RECORD_IMPORTS_FILE) {
  const target = process.env.RECORD_IMPORTS_FILE;
  register(import.meta.url, { data: { file: target } });
  // CommonJS packages' require() calls bypass the hooks: add the CommonJS cache at exit.
  const { cache } = createRequire(import.meta.url);
  process.on('exit', () => appendFileSync(target, Object.keys(cache).map((path) => `${pathToFileURL(path).href}\n`).join('')));
}

let file;

export function initialize(data) {
  file = data.file;
}

export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  if (file) appendFileSync(file, `${resolved.url}\n`);
  return resolved;
}
