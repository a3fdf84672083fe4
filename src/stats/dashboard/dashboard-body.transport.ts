import type { ServerResponse } from 'node:http';
import { Injectable } from '@nestjs/common';
import { HttpPlatformHost } from '../http/http-platform.host';
import { PacedBodyWriter, type BodyParts } from './paced-body.writer';

/**
 * One per process, whatever the number of modules and applications: its budget is per turn of the
 * one event loop.
 */
const pacedWriter = new PacedBodyWriter();

/** What the response varies by, besides what the host's own handlers made it vary by. */
const VARY = ['Accept', 'Authorization'];

/**
 * Sends the dashboard's cached bytes as they are, in their parts and paced, on the Node response
 * under the platform's: Express's `res.json` or Fastify's `send` would serialise or join them (and
 * Express hash them for an ETag), at over ten megabytes per change at a million sessions.
 */
@Injectable()
export class DashboardBodyTransport {
  constructor(private readonly http: HttpPlatformHost) {}

  /** Answers 200 with `body` as `mediaType` (UTF-8) on the platform's `response`; HEAD gets the headers alone. */
  send(response: object, body: BodyParts, mediaType: string): void {
    const out = this.http.platform.takeOver(response);
    out.statusCode = 200;
    out.setHeader('Content-Type', `${mediaType}; charset=utf-8`);
    out.setHeader('Content-Length', body.length);
    out.setHeader('Cache-Control', 'no-store'); // the body lists client IP addresses
    out.setHeader('Vary', varyWith(out, VARY));
    // HEAD: the length, no body, and none of the turn's budget.
    if (out.req?.method === 'HEAD') out.end();
    else pacedWriter.send(out, body);
  }
}

/** The response's Vary (a CORS layer's `Origin`, say) with `names` added, or `*` if it is `*`. */
function varyWith(response: ServerResponse, names: readonly string[]): string {
  const header = response.getHeader('Vary');
  const present = (Array.isArray(header) ? header.join(',') : String(header ?? ''))
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  if (present.includes('*')) return '*';
  const lower = new Set(present.map((name) => name.toLowerCase()));
  return [...present, ...names.filter((name) => !lower.has(name.toLowerCase()))].join(', ');
}
