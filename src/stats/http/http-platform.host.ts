import { Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost, type AbstractHttpAdapter } from '@nestjs/core';
import { UnsupportedPlatformError } from '../errors/unsupported-platform.error';
import { ExpressPlatform } from './express.platform';
import { FastifyPlatform } from './fastify.platform';
import type { HttpPlatform } from './http-platform.interface';

/**
 * The host's HTTP platform, found through Nest's HttpAdapterHost when the module starts. A platform
 * the module cannot answer on is refused then, naming it, rather than failing every request. An
 * application without HTTP (a standalone context) has no platform and serves no route.
 */
@Injectable()
export class HttpPlatformHost implements OnModuleInit {
  private current: HttpPlatform | null = null;

  constructor(private readonly adapterHost: HttpAdapterHost) {}

  onModuleInit(): void {
    const adapter = this.adapterHost.httpAdapter;
    if (adapter) this.current = platformFor(adapter);
  }

  get platform(): HttpPlatform {
    if (!this.current) throw new Error('StatsModule has no HTTP platform: the application serves no HTTP');
    return this.current;
  }
}

export function platformFor(adapter: AbstractHttpAdapter): HttpPlatform {
  const type = adapter.getType();
  switch (type) {
    case 'express':
      return new ExpressPlatform(adapter);
    case 'fastify':
      return new FastifyPlatform(adapter);
    default:
      throw new UnsupportedPlatformError(type, adapter.constructor?.name ?? 'unknown adapter');
  }
}
