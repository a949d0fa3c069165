import type { Logger } from '@flashcase/telemetry';

/**
 * The signals that cannot be read right now, so each outage is logged once when it starts and once
 * when it ends, not at every evaluation.
 */
export class OutageLog {
  private readonly open = new Set<string>();

  constructor(private readonly log: Logger) {}

  /** Notes the state of signal `name`: `problem` set while it cannot be read, undefined once it can. */
  note(name: string, problem: string | undefined): void {
    if (problem !== undefined && !this.open.has(name)) {
      this.open.add(name);
      this.log.warn(`Signal ${name} cannot be read: ${problem}`, { signal: name });
    } else if (problem === undefined && this.open.delete(name)) {
      this.log.info(`Signal ${name} can be read again`, { signal: name });
    }
  }
}
