import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP forwarder on 127.0.0.1 to a local service (PostgreSQL, RabbitMQ), that a test can
 * cut and restore: cut, every connection through it is reset and the port refuses new ones,
 * as when the service is unreachable; the service itself is never touched.
 */
export class TcpGate {
  private server?: Server;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly targetPort: number,
    private listenPort: number,
  ) {}

  static async open(targetPort: number): Promise<TcpGate> {
    const gate = new TcpGate(targetPort, 0);
    await gate.restore();
    return gate;
  }

  get port(): number {
    return this.listenPort;
  }

  /** `url` with its host and port replaced by the gate's. */
  through(url: string): string {
    const parsed = new URL(url);
    parsed.hostname = '127.0.0.1';
    parsed.port = String(this.listenPort);
    return parsed.toString();
  }

  /** Listens again, on the same port as before. */
  async restore(): Promise<void> {
    if (this.server) return;
    const server = createServer((client) => {
      const upstream = connect(this.targetPort, '127.0.0.1');
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((done, fail) => {
      server.once('error', fail);
      server.listen(this.listenPort, '127.0.0.1', () => done());
    });
    this.listenPort = (server.address() as { port: number }).port;
    this.server = server;
  }

  /** Stops it for good (the same as a cut: nothing of it keeps the test process alive). */
  close(): Promise<void> {
    return this.cut();
  }

  /** Resets every connection and stops listening. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.resetAndDestroy();
    if (server) await new Promise<void>((done) => server.close(() => done()));
  }
}
