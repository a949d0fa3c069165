import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { freePort } from './ports';

/** Deletes every key under `prefix` (SCAN, never KEYS). */
export async function deleteKeys(url: string, prefix: string): Promise<number> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await client.connect();
  let deleted = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await client.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
  return deleted;
}

/** Every key under `prefix`, for layout assertions. */
export async function listKeys(url: string, prefix: string): Promise<string[]> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await client.connect();
  try {
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      found.push(...keys);
    } while (cursor !== '0');
    return found.sort();
  } finally {
    client.disconnect();
  }
}

async function answersPing(url: string): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/**
 * A redis-server of our own on a spare loopback port, with an append-only file in a temp dir so a
 * restart keeps the data (what a production Redis with persistence does). `kill()` is SIGKILL: an
 * abrupt crash, not a clean shutdown.
 */
export class RedisServer {
  private process: ChildProcess | undefined;

  private constructor(
    readonly port: number,
    readonly dir: string,
    private readonly extraArgs: readonly string[],
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts a server; `extraArgs` are appended to the command line (e.g. cluster mode). */
  static async start(extraArgs: readonly string[] = []): Promise<RedisServer> {
    const dir = await mkdtemp(join(tmpdir(), 'flashcase-test-redis-'));
    const server = new RedisServer(await freePort(), dir, extraArgs);
    await server.restart();
    return server;
  }

  /** (Re)starts the server on the same port and waits until it answers PING. */
  async restart(): Promise<void> {
    this.process = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'yes',
        // Every write is on disk before the reply, so SIGKILL loses nothing the client saw succeed.
        '--appendfsync',
        'always',
        '--dir',
        this.dir,
        ...this.extraArgs,
      ],
      { stdio: 'ignore' },
    );
    const deadline = Date.now() + 10_000;
    while (!(await answersPing(this.url))) {
      if (Date.now() > deadline) throw new Error(`redis-server on port ${this.port} did not start`);
      await sleep(50);
    }
  }

  /** SIGKILL, and waits for the process to be gone. */
  async kill(): Promise<void> {
    const child = this.process;
    this.process = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  /** SIGSTOP: the server keeps its connections but answers nothing (a hung Redis). */
  pause(): void {
    this.process?.kill('SIGSTOP');
  }

  /** SIGCONT: the server answers again, starting with what it received while paused. */
  resume(): void {
    this.process?.kill('SIGCONT');
  }

  async stop(): Promise<void> {
    await this.kill();
    await rm(this.dir, { recursive: true, force: true });
  }
}

/**
 * A three-master Redis Cluster of our own on spare loopback ports (no replicas), for proving the
 * scripts only ever touch one slot.
 */
export class RedisCluster {
  private constructor(readonly servers: RedisServer[]) {}

  /** `host:port` of every node (what `REDIS_CLUSTER_NODES` lists). */
  get nodes(): string[] {
    return this.servers.map((s) => `127.0.0.1:${s.port}`);
  }

  static async start(): Promise<RedisCluster> {
    const servers = await Promise.all(
      [0, 1, 2].map(() =>
        RedisServer.start(['--cluster-enabled', 'yes', '--cluster-node-timeout', '2000', '--appendonly', 'no']),
      ),
    );
    const cluster = new RedisCluster(servers);
    await new Promise<void>((resolve, reject) => {
      const create = spawn(
        'redis-cli',
        ['--cluster', 'create', ...cluster.nodes, '--cluster-replicas', '0', '--cluster-yes'],
        { stdio: 'ignore' },
      );
      create.once('error', reject);
      create.once('exit', (code) =>
        code === 0 ? resolve() : reject(new Error(`redis-cli --cluster create: ${code}`)),
      );
    });
    const deadline = Date.now() + 15_000;
    for (const server of servers) {
      while (!(await clusterOk(server.url))) {
        if (Date.now() > deadline) throw new Error('the test cluster did not reach cluster_state:ok');
        await sleep(100);
      }
    }
    return cluster;
  }

  async stop(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.stop()));
  }
}

async function clusterOk(url: string): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const info = String(await client.call('CLUSTER', 'INFO'));
    return info.includes('cluster_state:ok');
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}
