import type { ExecutionContext } from '@nestjs/common';
import { NotAcceptableError } from '../errors/not-acceptable.error';
import type { HttpPlatformHost } from '../http/http-platform.host';
import type { ResolvedStatsOptions } from '../stats-options.validation';
import { AcceptGuard } from './accept.guard';
import { mediaTypeOf } from './negotiated-media-type.decorator';

const VENDOR = 'application/vnd.example.stats-v1+json';

/** The host's platform, as far as the guard uses it: the request path for the log. */
const http = { platform: { requestPath: () => '/' } } as unknown as HttpPlatformHost;

function guard(acceptedMediaTypes = ['application/json', VENDOR]): AcceptGuard {
  return new AcceptGuard({ acceptedMediaTypes } as ResolvedStatsOptions, http);
}

function contextFor(request: object): ExecutionContext {
  return { switchToHttp: () => ({ getRequest: () => request }) } as unknown as ExecutionContext;
}

describe('AcceptGuard', () => {
  it.each([
    [undefined, 'application/json'],
    ['', 'application/json'],
    ['   ', 'application/json'],
    ['*/*', 'application/json'],
    ['application/*', 'application/json'],
    ['application/json', 'application/json'],
    ['Application/JSON', 'application/json'],
    ['application/json;charset=utf-8', 'application/json'],
    ['application/json; charset="UTF-8"', 'application/json'],
    [VENDOR, VENDOR],
    [`${VENDOR}; charset=utf-8`, VENDOR],
    [`application/json;q=0.9, ${VENDOR}`, VENDOR],
    [`${VENDOR};q=0.1, application/json`, 'application/json'],
    ['application/json;q=0, */*;q=0.5', VENDOR],
    [['text/html', 'application/json;q=0.2'], 'application/json'],
  ])('negotiates %j to %s', (accept, expected) => {
    expect(guard().negotiate(accept)).toBe(expected);
  });

  it.each([
    'text/html',
    'text/*',
    'application/xml',
    'application/json;q=0',
    `application/json;q=0, ${VENDOR};q=0`,
    '*/*;q=0',
    'application/*;q=0',
    'application/json; charset=iso-8859-1',
    'application/json; version=2',
    'application/vnd.other+json',
    'garbage',
    ';;;,,,',
    '*',
  ])('finds nothing acceptable in %j', (accept) => {
    expect(guard().negotiate(accept)).toBeNull();
  });

  it('offers only application/json when no other type is configured', () => {
    expect(guard(['application/json']).negotiate(VENDOR)).toBeNull();
    expect(guard(['application/json']).negotiate('application/json;q=0, */*')).toBeNull();
  });

  it('records the negotiated type for the handler, beside the request', () => {
    const request = { method: 'GET', headers: { accept: VENDOR } };
    expect(guard().canActivate(contextFor(request))).toBe(true);
    expect(mediaTypeOf(request)).toBe(VENDOR);
    expect(mediaTypeOf({})).toBe('application/json');
  });

  it('throws NotAcceptableError (406) when nothing is acceptable', () => {
    const request = { method: 'GET', headers: { accept: 'text/html' } };
    expect(() => guard().canActivate(contextFor(request))).toThrow(NotAcceptableError);
  });

  it('stays fast on a long hostile header', () => {
    const started = process.hrtime.bigint();
    expect(guard().negotiate(`${'a/b;q=0.5;x=y, '.repeat(600)}${'*/*;q=0,'.repeat(300)}`)).toBeNull();
    expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(200);
  });
});
