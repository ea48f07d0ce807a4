import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { withTimeout } from './processes.js';
import { sleep } from './helpers.js';

// Services a test can take down and bring back, without touching the machine's shared
// PostgreSQL and Redis (other suites run against them at the same time).

const children = new Set<ChildProcess>();

/** A port nothing listens on now (the OS's choice for port 0, released at once). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A redis-server child process of this test, on a port of its own; stopped and started at will. */
export class PrivateRedis {
  private child: ChildProcess | undefined;

  private constructor(readonly port: number) {}

  /** A port for it; nothing listens there until `start()`. */
  static async reserve(): Promise<PrivateRedis> {
    return new PrivateRedis(await freePort());
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts it (again, on the same port, empty) and waits until it answers PING. */
  async start(timeoutMs = 20_000): Promise<void> {
    if (this.child) throw new Error('redis-server is already running');
    const child = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    });
    this.child = child;
    children.add(child);
    child.once('exit', () => children.delete(child));
    const deadline = Date.now() + timeoutMs;
    while (!(await pings(this.port))) {
      if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode} (is port ${this.port} taken?)`);
      if (Date.now() > deadline) throw new Error(`redis-server did not answer on port ${this.port} within ${timeoutMs} ms`);
      await sleep(25);
    }
  }

  /** Kills it (SIGKILL: a crash, not a shutdown) and waits until it has exited. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await withTimeout(exited, 10_000, 'redis-server to exit');
  }
}

/** Whether a Redis on `port` answers PING now. */
function pings(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let answer = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      answer += chunk.toString();
      if (answer.includes('\r\n')) done(answer.startsWith('+PONG'));
    });
    socket.on('error', () => done(false));
  });
}

/**
 * A TCP proxy to `target` that the test can cut: `cut()` destroys every open connection and
 * drops new ones as soon as they arrive (the database is gone, as far as the app can tell);
 * `blackhole()` destroys them too, then accepts new ones and never answers (a host that went
 * silent); `restore()` passes connections through again.
 */
export class TcpProxy {
  private readonly open = new Set<net.Socket>();
  private mode: 'pass' | 'refuse' | 'silent' = 'pass';

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {}

  static async start(targetHost: string, targetPort: number): Promise<TcpProxy> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const proxy = new TcpProxy(server, (server.address() as net.AddressInfo).port);
    server.on('connection', (client) => proxy.pass(client, targetHost, targetPort));
    return proxy;
  }

  cut(): void {
    this.drop('refuse');
  }

  blackhole(): void {
    this.drop('silent');
  }

  restore(): void {
    this.drop('pass');
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise((resolve) => this.server.close(resolve));
  }

  /** Ends every connection (passed through or held silent), then treats new ones as `mode` says. */
  private drop(mode: TcpProxy['mode']): void {
    this.mode = mode;
    for (const socket of this.open) socket.destroy();
    this.open.clear();
  }

  private pass(client: net.Socket, host: string, port: number): void {
    if (this.mode === 'refuse') return void client.destroy();
    if (this.mode === 'silent') {
      this.open.add(client);
      client.on('error', () => {});
      client.on('close', () => this.open.delete(client));
      return;
    }
    const upstream = net.connect(port, host);
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      this.open.add(from);
      from.pipe(to);
      from.on('error', () => to.destroy());
      from.on('close', () => {
        this.open.delete(from);
        to.destroy();
      });
    }
  }
}

/** Kills every redis-server this file started (for afterAll). */
export function killPrivateServices(): void {
  for (const child of children) child.kill('SIGKILL');
}
