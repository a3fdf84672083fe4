import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { AbstractHttpAdapter } from '@nestjs/core';
import { pathOf, type HttpPlatform } from './http-platform.interface';

/** The part of Fastify's reply the module uses (declared here: fastify is no dependency of the module). */
interface FastifyReply {
  readonly raw: ServerResponse;
  hijack(): unknown;
  getHeaders(): OutgoingHttpHeaders;
}

/** Fastify (`@nestjs/platform-fastify`): its reply wraps the Node response, `reply.raw`. */
export class FastifyPlatform implements HttpPlatform {
  readonly name = 'fastify';

  constructor(private readonly adapter: AbstractHttpAdapter) {}

  /**
   * Hijacks the reply: Fastify then neither serialises nor sends, and skips its onSend hooks, which
   * would need the body as one buffer. Its onResponse hooks and request log still run when the
   * Node response finishes. Headers set on the reply (by the host's hooks) would be lost with it,
   * so they move to the Node response first, as they would have been sent.
   */
  takeOver(response: object): ServerResponse {
    const reply = response as FastifyReply;
    reply.hijack();
    const raw = reply.raw;
    for (const [name, value] of Object.entries(reply.getHeaders())) {
      if (value !== undefined && !raw.headersSent) raw.setHeader(name, value);
    }
    return raw;
  }

  /** Through reply.send: Fastify computes Content-Length, runs the host's onSend hooks, answers HEAD. */
  send(response: object, status: number, headers: Readonly<Record<string, string>>, body: string): void {
    for (const [name, value] of Object.entries(headers)) this.adapter.setHeader(response, name, value);
    this.adapter.reply(response, body, status);
  }

  isStarted(response: object): boolean {
    return Boolean(this.adapter.isHeadersSent(response)) || (response as FastifyReply).raw.headersSent;
  }

  abort(response: object): void {
    (response as FastifyReply).raw.destroy();
  }

  requestPath(request: object): string {
    return pathOf(this.adapter.getRequestUrl(request));
  }
}
