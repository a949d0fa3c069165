import nodemailer, { type Transporter } from 'nodemailer';
import { Agent, request } from 'undici';
import type { Message } from './notification';

/** The three notification channels. */
export type ChannelName = 'slack' | 'email' | 'webhook';

/** One way out. `send` rejects with a {@link ChannelError} whose message is safe to log. */
export interface Channel {
  readonly name: ChannelName;
  send(message: Message, timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

/** A delivery failure whose message holds no secret (no URL, no credentials). */
export class ChannelError extends Error {
  override readonly name = 'ChannelError';
  constructor(
    message: string,
    /** Retrying cannot help (a 4xx other than 408/429): give up at once. */
    readonly permanent = false,
  ) {
    super(message);
  }
}

function networkError(err: unknown): ChannelError {
  const error = err as { code?: string; name?: string; cause?: { code?: string } };
  if (error?.name === 'TimeoutError' || error?.code === 'UND_ERR_HEADERS_TIMEOUT') return new ChannelError('timeout');
  return new ChannelError(error?.cause?.code ?? error?.code ?? error?.name ?? 'network error');
}

/** POSTs JSON; any 2xx is success. The URL is a secret and never appears in an error. */
async function postJson(agent: Agent, url: string, body: unknown, timeoutMs: number): Promise<void> {
  let status: number;
  try {
    const res = await request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'flashcase-alerting' },
      body: JSON.stringify(body),
      dispatcher: agent,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs),
    });
    status = res.statusCode;
    await res.body.dump();
  } catch (err) {
    throw networkError(err);
  }
  if (status < 200 || status >= 300) {
    const permanent = status >= 400 && status < 500 && status !== 408 && status !== 429;
    throw new ChannelError(`HTTP ${status}`, permanent);
  }
}

/** Slack incoming webhook (`SLACK_WEBHOOK_URL`). */
export class SlackChannel implements Channel {
  readonly name = 'slack' as const;
  private readonly agent = new Agent({ keepAliveTimeout: 10_000 });

  constructor(private readonly url: string) {}

  send(message: Message, timeoutMs: number): Promise<void> {
    return postJson(this.agent, this.url, message.slack, timeoutMs);
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

/** Generic JSON webhook (`ALERT_WEBHOOK_URL`). */
export class WebhookChannel implements Channel {
  readonly name = 'webhook' as const;
  private readonly agent = new Agent({ keepAliveTimeout: 10_000 });

  constructor(private readonly url: string) {}

  send(message: Message, timeoutMs: number): Promise<void> {
    return postJson(this.agent, this.url, message.webhook, timeoutMs);
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

export interface EmailChannelOptions {
  /** `SMTP_URL` (`smtp://user:pass@host:port`, `smtps://` for implicit TLS). */
  smtpUrl: string;
  /** `ALERT_EMAIL_FROM`. */
  from: string;
  /** `ALERT_EMAIL`, split. */
  to: readonly string[];
}

/** Email over SMTP with nodemailer; one connection per message, with timeouts on every phase. */
export class EmailChannel implements Channel {
  readonly name = 'email' as const;
  private readonly transports = new Map<number, Transporter>();

  constructor(private readonly options: EmailChannelOptions) {}

  async send(message: Message, timeoutMs: number): Promise<void> {
    const transport = this.transport(timeoutMs);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new ChannelError('timeout')), timeoutMs);
    });
    try {
      await Promise.race([
        transport.sendMail({
          from: this.options.from,
          to: [...this.options.to],
          subject: message.subject,
          text: message.text,
          headers: { 'X-FlashCase-Notification': message.id },
        }),
        deadline,
      ]);
    } catch (err) {
      if (err instanceof ChannelError) throw err;
      const error = err as { code?: string; responseCode?: number };
      const permanent = error.code === 'EAUTH' || error.code === 'EENVELOPE';
      throw new ChannelError(
        `SMTP ${error.code ?? 'error'}${error.responseCode ? ` ${error.responseCode}` : ''}`,
        permanent,
      );
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    for (const transport of this.transports.values()) transport.close();
    this.transports.clear();
  }

  private transport(timeoutMs: number): Transporter {
    let transport = this.transports.get(timeoutMs);
    if (!transport) {
      transport = nodemailer.createTransport({
        url: this.options.smtpUrl,
        connectionTimeout: timeoutMs,
        greetingTimeout: timeoutMs,
        socketTimeout: timeoutMs,
        // NOTE: nodemailer logs nothing unless asked; keep it so (its debug log prints credentials).
        logger: false,
        debug: false,
      });
      this.transports.set(timeoutMs, transport);
    }
    return transport;
  }
}
