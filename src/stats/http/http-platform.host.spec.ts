import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { HttpAdapterHost } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { UnsupportedPlatformError } from '../errors/unsupported-platform.error';
import { FastifyPlatform } from './fastify.platform';
import { HttpPlatformHost, platformFor } from './http-platform.host';
import { pathOf } from './http-platform.interface';

describe('HttpPlatformHost', () => {
  const hostOf = (adapter: unknown) => {
    const adapterHost = new HttpAdapterHost();
    adapterHost.httpAdapter = adapter as never;
    const host = new HttpPlatformHost(adapterHost);
    host.onModuleInit();
    return host;
  };

  it("picks the platform of the host's adapter when the module starts", () => {
    expect(hostOf(new ExpressAdapter()).platform.name).toBe('express');
    expect(hostOf(new FastifyAdapter()).platform.name).toBe('fastify');
  });

  it('refuses any other platform at start-up, naming it and its adapter', () => {
    class HyperAdapter extends ExpressAdapter {
      override getType(): string {
        return 'hyper-express';
      }
    }
    expect(() => hostOf(new HyperAdapter())).toThrow(UnsupportedPlatformError);
    expect(() => platformFor(new HyperAdapter())).toThrow('the HTTP platform "hyper-express" (HyperAdapter)');
  });

  it('starts without an adapter (no HTTP), and says so if a route ever asks for the platform', () => {
    const host = hostOf(undefined);
    expect(() => host.platform).toThrow('StatsModule has no HTTP platform');
  });
});

describe('FastifyPlatform', () => {
  it('takes the reply over, keeping the headers the host set on it', () => {
    const raw = new ServerResponse(new IncomingMessage(new Socket()));
    raw.setHeader('Vary', 'Origin'); // put there by the host's CORS hook, say
    const reply = {
      raw,
      hijack: jest.fn(),
      getHeaders: () => ({ 'x-request-id': 'req-1', 'x-count': 2, 'x-none': undefined }),
    };
    const platform = new FastifyPlatform(new FastifyAdapter());
    expect(platform.takeOver(reply)).toBe(raw);
    expect(reply.hijack).toHaveBeenCalledTimes(1);
    expect(raw.getHeaders()).toEqual({ vary: 'Origin', 'x-request-id': 'req-1', 'x-count': 2 });
  });
});

describe('pathOf', () => {
  it.each([
    ['/stats/active-sessions/dashboard', '/stats/active-sessions/dashboard'],
    ['/stats/active-sessions/dashboard?access_token=abc', '/stats/active-sessions/dashboard'],
    ['/a#fragment', '/a'],
    ['/a?b#c', '/a'],
    [undefined, ''],
  ])('gives %j as %j', (url, path) => {
    expect(pathOf(url)).toBe(path);
  });
});
