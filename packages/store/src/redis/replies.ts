/** A script's array reply; TypeError for anything else (a script and its caller out of step). */
export function asArray(reply: unknown): unknown[] {
  if (!Array.isArray(reply)) throw new TypeError(`unexpected script reply: ${String(reply)}`);
  return reply;
}
