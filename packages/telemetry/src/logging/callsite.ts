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

/**
 * Finds the first stack frame outside the logging machinery. Costs a few microseconds (a V8 stack
 * capture with structured frames), so it is only used for production JSON lines. Returns undefined
 * when no frame qualifies (a log call from inside node internals).
 */
export function captureCallsite(): Callsite | undefined {
  const previousPrepare = Error.prepareStackTrace;
  const previousLimit = Error.stackTraceLimit;
  Error.prepareStackTrace = structuredStack;
  Error.stackTraceLimit = 30;
  const holder: { stack?: NodeJS.CallSite[] } = {};
  try {
    Error.captureStackTrace(holder, captureCallsite);
    const frames = holder.stack ?? [];
    for (const frame of frames) {
      const file = frame.getFileName();
      if (!file || SKIP.some((part) => file.includes(part))) continue;
      const path = file.startsWith('file://') ? new URL(file).pathname : file;
      return {
        module: basename(path, extname(path)),
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
