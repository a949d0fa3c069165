/** One problem found in the environment. */
export interface ConfigIssue {
  /** The environment variable at fault, e.g. `RATE_LIMIT_AI_PER_MINUTE`. */
  readonly variable: string;
  /** One line that starts with the variable's name and never contains a secret value. */
  readonly message: string;
}

/**
 * Thrown by `loadConfig` when the environment holds a bad value or lacks a required one.
 *
 * Edge cases:
 * - When several variables are bad, `message` lists every issue on ONE line, separated by `"; "`,
 *   in a fixed order (the order of the contract's table, then cross-variable checks); `variable`
 *   names the first, `issues` holds them all.
 * - Secret values (`JWT_SECRET`, `XAI_API_KEY`, `INTERNAL_TOKEN`, URLs that carry credentials)
 *   never appear in the message.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  /** The first variable at fault. */
  readonly variable: string;
  /** Every issue found, in reporting order; never empty. */
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[]) {
    const [first] = issues;
    if (first === undefined) {
      throw new TypeError('ConfigError needs at least one issue');
    }
    super(issues.map((issue) => issue.message).join('; '));
    this.variable = first.variable;
    this.issues = Object.freeze([...issues]);
  }
}
