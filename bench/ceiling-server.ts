/**
 * The ceiling: a plain node:http server that answers every request with the dashboard body and
 * headers fetched once from the benchmarked server. No routing, auth or computation: what the
 * machine can serve at best for a body of this size.
 */
import { get, createServer, type OutgoingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

const source = process.env.BENCH_CEILING_SOURCE!;
const authorization = process.env.BENCH_CEILING_AUTHORIZATION!;

function fetchOnce(): Promise<{ body: Buffer; headers: OutgoingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    get(source, { headers: { authorization, accept: 'application/json' } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        if (response.statusCode !== 200) return reject(new Error(`source answered ${response.statusCode}`));
        const body = Buffer.concat(chunks);
        const headers: OutgoingHttpHeaders = {
          'content-type': response.headers['content-type'],
          'content-length': body.length,
          'cache-control': response.headers['cache-control'],
          vary: response.headers.vary,
        };
        resolve({ body, headers });
      });
      response.on('error', reject);
    }).on('error', reject);
  });
}

async function main(): Promise<void> {
  const { body, headers } = await fetchOnce();
  const server = createServer((_request, response) => {
    response.writeHead(200, headers);
    response.end(body);
  });
  server.listen(0, '127.0.0.1', () => {
    process.send!({ type: 'ready', port: (server.address() as AddressInfo).port, bytes: body.length });
  });
}

process.on('disconnect', () => process.exit(0));
process.on('message', (message: { type: string }) => {
  if (message.type === 'exit') process.exit(0);
});

main().catch((error: Error) => {
  process.send!({ type: 'error', message: error.stack ?? String(error) });
  process.exit(1);
});
