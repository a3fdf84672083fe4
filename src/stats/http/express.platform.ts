import type { ServerResponse } from 'node:http';
import type { AbstractHttpAdapter } from '@nestjs/core';
import { pathOf, type HttpPlatform } from './http-platform.interface';

/** Express (`@nestjs/platform-express`): its response is Node's, extended. */
export class ExpressPlatform implements HttpPlatform {
  readonly name = 'express';

  constructor(private readonly adapter: AbstractHttpAdapter) {}

  takeOver(response: object): ServerResponse {
    return response as ServerResponse;
  }

  send(response: object, status: number, headers: Readonly<Record<string, string>>, body: string): void {
    this.adapter.status(response, status);
    for (const [name, value] of Object.entries(headers)) this.adapter.setHeader(response, name, value);
    // end(), not reply(): Express's res.send would add an ETag to an error.
    this.adapter.end(response, body);
  }

  isStarted(response: object): boolean {
    return Boolean(this.adapter.isHeadersSent(response));
  }

  abort(response: object): void {
    (response as ServerResponse).destroy();
  }

  requestPath(request: object): string {
    return pathOf(this.adapter.getRequestUrl(request));
  }
}
