import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A JWKS endpoint on 127.0.0.1 (ephemeral port) whose key set a spec can swap, as an identity
 * provider does when it rotates keys. Counts the fetches, to show keys are cached.
 */
export class JwksTestServer {
  fetches = 0;
  private keys: Record<string, unknown>[] = [];
  private server: Server | null = null;
  private port = 0;

  get uri(): string {
    return `http://127.0.0.1:${this.port}/.well-known/jwks.json`;
  }

  setKeys(keys: Record<string, unknown>[]): void {
    this.keys = keys;
  }

  async start(keys: Record<string, unknown>[] = []): Promise<this> {
    this.keys = keys;
    this.server = createServer((request, response) => {
      if (request.url !== '/.well-known/jwks.json') {
        response.writeHead(404).end();
        return;
      }
      this.fetches += 1;
      response.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ keys: this.keys }));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
