import type { Server } from 'node:http';
import { type AddressInfo, createServer, type Server as NetServer } from 'node:net';

/**
 * Connections the kernel may hold for each listening socket until the event loop accepts them
 * (capped by `net.core.somaxconn`, 4096 on current kernels). Node's default of 511 overflows under
 * a burst of new connections (a thousand streams opening within a second, clients reconnecting
 * after a deploy) while the loop is busy: the kernel then drops the connection and the client's TCP
 * retries a second or more later, a delay no metric of the service shows (the host's
 * `TcpExtListenOverflows` does).
 */
export const LISTEN_BACKLOG = 4096;

/**
 * Listening sockets a service opens on its port (`SO_REUSEPORT`; Linux only, one elsewhere).
 *
 * NOTE: libuv accepts one connection per listening socket per event-loop turn
 * (https://github.com/libuv/libuv/pull/3696). A service whose loop turns every millisecond or two
 * under load (a replica relaying a thousand streams) then accepts 500-1000 connections a second
 * however many wait, and the rest queue in the kernel unseen: the first bytes of a burst of new
 * streams waited 0.5-1 s in `pnpm bench -- --streams=1000`. With several sockets on the port the
 * kernel spreads new connections over them and each turn accepts one from each.
 */
export const ACCEPTORS = process.platform === 'linux' ? 8 : 1;

/** What {@link listenShared} opened: the address, and a close that waits for every socket's connections. */
export interface SharedListener {
  address: AddressInfo;
  /** Stops accepting on every socket; resolves once each one's connections have ended. */
  close(): Promise<void>;
}

function listenOn(server: NetServer, options: Parameters<NetServer['listen']>[0]): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function closed(server: NetServer): Promise<void> {
  return new Promise<void>((resolve) => server.close(() => resolve()));
}

/**
 * Listens `server` on `host:port` with {@link ACCEPTORS} sockets: its own, and plain acceptors
 * that hand each connection to it (`'connection'`, as Node's http documents), so every request,
 * timeout and `closeIdleConnections()` is the one server's.
 *
 * A port another process already listens on still fails with `EADDRINUSE`: `SO_REUSEPORT` would
 * let a second copy of the service share it silently, so the port is first taken once without it.
 */
export async function listenShared(server: Server, port: number, host: string): Promise<SharedListener> {
  const shared = ACCEPTORS > 1;
  if (shared && port !== 0) {
    const probe = createServer();
    await listenOn(probe, { port, host, exclusive: true });
    await closed(probe);
  }
  await listenOn(server, { port, host, backlog: LISTEN_BACKLOG, ...(shared ? { reusePort: true } : {}) });
  const address = server.address() as AddressInfo;
  const acceptors: NetServer[] = [];
  for (let i = 1; i < ACCEPTORS; i++) {
    // As http.Server's own socket: half-open allowed, Nagle off.
    const acceptor = createServer({ allowHalfOpen: true, noDelay: true }, (socket) =>
      server.emit('connection', socket),
    );
    await listenOn(acceptor, { port: address.port, host, backlog: LISTEN_BACKLOG, reusePort: true });
    acceptors.push(acceptor);
  }
  return {
    address,
    async close() {
      await Promise.all([closed(server), ...acceptors.map(closed)]);
    },
  };
}
