import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { startFakeProcess } from '@flashcase/testkit';
import OpenAI from 'openai';
import { describe, expect, it } from 'vitest';

const CLI = join(__dirname, '../dist/cli.js');

describe('the fake-openai command', () => {
  it('prints LISTENING <url>, serves the SDK in the --dialect asked for, and exits 0 on SIGTERM', async () => {
    const fake = await startFakeProcess([
      '--latency-ms',
      '0',
      '--api-key',
      'cli-key',
      '--dialect',
      'openai',
      '--no-reasoning',
    ]);
    try {
      const { url } = fake;
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);

      const client = new OpenAI({ baseURL: url, apiKey: 'cli-key', maxRetries: 0 });
      const completion = await client.chat.completions.create({
        model: 'grok-3-mini',
        messages: [{ role: 'user', content: 'ping' }],
      });
      expect(completion.choices[0]?.message.content).toMatch(/^Echo: [0-9a-f]{8} ping$/);
      expect(completion.usage).toMatchObject({
        completion_tokens: 3,
        completion_tokens_details: { reasoning_tokens: 0 },
      });
      expect(completion.usage).not.toHaveProperty('cost_in_usd_ticks');

      expect(await fake.stop()).toBe(0);
    } finally {
      await fake.stop(0);
    }
  });

  it('refuses a bad flag with one line on stderr and exit code 2', async () => {
    const child = spawn(process.execPath, [CLI, '--latency-ms', 'soon'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const [code] = await once(child, 'exit');
    expect(code).toBe(2);
    expect(stderr).toBe('fake-openai: --latency-ms must be a non-negative integer, got "soon"\n');

    const dialect = spawn(process.execPath, [CLI, '--dialect', 'claude'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let dialectErr = '';
    dialect.stderr.on('data', (chunk: Buffer) => {
      dialectErr += chunk.toString();
    });
    expect((await once(dialect, 'exit'))[0]).toBe(2);
    expect(dialectErr).toBe('fake-openai: --dialect must be xai or openai, got "claude"\n');
  });

  it('paces every stream with --chunk-delay-ms: the events arrive apart, not in one piece', async () => {
    const fake = await startFakeProcess(['--reply-tokens', '3', '--chunk-delay-ms', '150']);
    try {
      const { url } = fake;
      const res = await fetch(`${url}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'Bearer test-key' },
        body: JSON.stringify({ model: 'grok-3-mini', stream: true, messages: [{ role: 'user', content: 'pace' }] }),
      });
      expect(res.status).toBe(200);
      const pieces: string[] = [];
      for await (const piece of res.body as AsyncIterable<Uint8Array>) pieces.push(Buffer.from(piece).toString());
      const body = pieces.join('');
      expect(body.endsWith('data: [DONE]\n\n')).toBe(true);
      // The role chunk at once, then 3 content chunks 150 ms apart, then the end: at least 4 reads.
      expect(pieces.length).toBeGreaterThanOrEqual(4);
      expect(pieces[0]).toContain('"role":"assistant"');
    } finally {
      await fake.stop(0);
    }
  });
});
