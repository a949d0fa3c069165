import { basename, extname } from 'node:path';

/** Where a log call came from: the seed's `module`, `function` and `line` fields. */
export interface Callsite {
  module: string;
  function: string;
  line: number;
}

// Frames from the logging machinery itself are skipped so the callsite is the caller's code.
const SKIP = [
  `${__dirname}/`,
  '/node_modules/winston/',
  '/node_modules/winston-transport/',
  '/node_modules/logform/',
  '/node_modules/readable-stream/',
  '/.pnpm/winston',
  '/.pnpm/logform',
  '/.pnpm/readable-stream',
  'node:',
];

function structuredStack(_error: Error, frames: NodeJS.CallSite[]): NodeJS.CallSite[] {
  return frames;
}

// Module names by script path: `basename`/`extname` (and URL parsing) once per file, not per record.
const moduleNames = new Map<string, string>();

function moduleOf(file: string): string {
  let name = moduleNames.get(file);
  if (name === undefined) {
    const path = file.startsWith('file://') ? new URL(file).pathname : file;
    name = basename(path, extname(path));
    if (moduleNames.size < 10_000) moduleNames.set(file, name);
  }
  return name;
}

/**
 * Finds the first stack frame outside the logging machinery. `below` (a function on the stack, e.g.
 * the logger's `write`) hides itself and every frame under it, so only the few frames between the
 * caller and it are captured: `limit` of them (default 30, enough to walk up from inside a winston
 * format). Costs about 1 µs with a `below` close to the caller, tens of µs for a deep capture, so it
 * is only used for production JSON lines. Returns undefined when no frame qualifies (a log call from
 * inside node internals, or one deeper than `limit`).
 */
export function captureCallsite(
  below: (...args: never) => unknown = captureCallsite,
  limit = 30,
): Callsite | undefined {
  const previousPrepare = Error.prepareStackTrace;
  const previousLimit = Error.stackTraceLimit;
  Error.prepareStackTrace = structuredStack;
  Error.stackTraceLimit = limit;
  const holder: { stack?: NodeJS.CallSite[] } = {};
  try {
    Error.captureStackTrace(holder, below);
    const frames = holder.stack ?? [];
    for (const frame of frames) {
      const file = frame.getFileName();
      if (!file || SKIP.some((part) => file.includes(part))) continue;
      return {
        module: moduleOf(file),
        function: frame.getFunctionName() ?? frame.getMethodName() ?? '<anonymous>',
        line: frame.getLineNumber() ?? 0,
      };
    }
    return undefined;
  } finally {
    Error.prepareStackTrace = previousPrepare;
    Error.stackTraceLimit = previousLimit;
  }
}
