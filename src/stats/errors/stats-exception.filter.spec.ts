import {
  BadRequestException,
  ForbiddenException,
  GatewayTimeoutException,
  HttpException,
  Logger,
  NotAcceptableException,
  NotFoundException,
  ServiceUnavailableException,
  UnauthorizedException,
  type ArgumentsHost,
} from '@nestjs/common';
import type { HttpPlatformHost } from '../http/http-platform.host';
import type { HttpPlatform } from '../http/http-platform.interface';
import { InsufficientPermissionsError } from './insufficient-permissions.error';
import { InternalError } from './internal.error';
import { KeySetUnavailableError } from './key-set-unavailable.error';
import { NotAcceptableError } from './not-acceptable.error';
import { SourceTimeoutError } from './source-timeout.error';
import { StatsExceptionFilter } from './stats-exception.filter';
import { StoreUnavailableError } from './store-unavailable.error';
import { TokenError } from './token.error';

/** What the filter had the host's platform send (the platforms themselves are proved end to end). */
interface Written {
  status?: number;
  headers: Record<string, unknown>;
  body?: string;
  aborted: boolean;
}

/** The response the filter is given, with what was done to it. */
interface StandIn {
  started: boolean;
  written: Written;
}

const recordingPlatform: HttpPlatform = {
  name: 'recording',
  takeOver: () => {
    throw new Error('the filter never takes a response over');
  },
  send(response, status, headers, body) {
    const { written } = response as StandIn;
    written.status = status;
    for (const [name, value] of Object.entries(headers)) written.headers[name.toLowerCase()] = value;
    written.body = body;
  },
  isStarted: (response) => (response as StandIn).started,
  abort(response) {
    (response as StandIn).written.aborted = true;
  },
  requestPath: () => '/',
};

const newFilter = () => new StatsExceptionFilter({ platform: recordingPlatform } as HttpPlatformHost);

function filterResponse(exception: unknown, started = false, filter = newFilter()): Written {
  const response: StandIn = { started, written: { headers: {}, aborted: false } };
  const host = { switchToHttp: () => ({ getResponse: () => response }) } as unknown as ArgumentsHost;
  filter.catch(exception, host);
  return response.written;
}

describe('StatsExceptionFilter', () => {
  let logged: string[];

  beforeEach(() => {
    logged = [];
    const record = (level: string) => (message: unknown, stack?: unknown) => {
      logged.push(`${level} ${String(message)} ${stack ?? ''}`);
    };
    jest.spyOn(Logger.prototype, 'error').mockImplementation(record('error'));
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(record('warn'));
  });

  afterEach(() => jest.restoreAllMocks());

  it.each([
    [new TokenError(false), 401, 'unauthorized', 'Token error. Login again.', { 'www-authenticate': 'Bearer' }],
    [
      new TokenError(true),
      401,
      'unauthorized',
      'Token error. Login again.',
      { 'www-authenticate': 'Bearer error="invalid_token"' },
    ],
    [new InsufficientPermissionsError(), 403, 'forbidden', 'Insufficient permissions to access this resource.', {}],
    [new NotAcceptableError(), 406, 'not_acceptable', "Invalid 'Accept' header.", {}],
    [new InternalError(new Error('x')), 500, 'internal_error', 'Unexpected server side error.', {}],
    [
      new StoreUnavailableError(new Error('x')),
      503,
      'service_unavailable',
      'Session store unavailable. Try again later.',
      { 'retry-after': '5' },
    ],
    [
      new KeySetUnavailableError(new Error('x')),
      503,
      'service_unavailable',
      'Token keys unavailable. Try again later.',
      { 'retry-after': '5' },
    ],
    [new SourceTimeoutError('gateway', 100), 504, 'gateway_timeout', 'A session source did not answer in time.', {}],
  ])('answers %p with its status, exactly { id, message } and its headers', (error, status, id, message, headers) => {
    const written = filterResponse(error);
    expect(written.status).toBe(status);
    expect(written.body).toBe(JSON.stringify({ id, message }));
    expect(written.headers).toEqual({
      'content-type': 'application/json; charset=utf-8',
      'content-length': String(Buffer.byteLength(written.body!)),
      'cache-control': 'no-store',
      ...headers,
    });
  });

  it.each([
    [
      new UnauthorizedException('token of user 42 expired'),
      401,
      { id: 'unauthorized', message: 'Token error. Login again.' },
    ],
    [
      new ForbiddenException('user 42 lacks admin'),
      403,
      { id: 'forbidden', message: 'Insufficient permissions to access this resource.' },
    ],
    [
      new NotAcceptableException('wanted text/html'),
      406,
      { id: 'not_acceptable', message: "Invalid 'Accept' header." },
    ],
    [new NotFoundException('Cannot GET /stats/secret-path'), 404, { id: 'not_found', message: 'Not found.' }],
    [new BadRequestException({ detail: 'field x of user 42' }), 400, { id: 'bad_request', message: 'Bad request.' }],
    [new HttpException('too big for user 42', 413), 413, { id: 'payload_too_large', message: 'Payload too large.' }],
    [new HttpException('odd status for user 42', 499), 499, { id: 'client_error', message: 'Invalid request.' }],
    [
      new ServiceUnavailableException('db at 10.0.0.5 down'),
      503,
      { id: 'service_unavailable', message: 'Service unavailable.' },
    ],
    [
      new GatewayTimeoutException('upstream 10.0.0.5 slow'),
      504,
      { id: 'gateway_timeout', message: 'Gateway timeout.' },
    ],
  ])(
    'answers an HttpException of another source (%p) with a generic message, its own in the log',
    (exception, status, body) => {
      const written = filterResponse(exception);
      expect(written.status).toBe(status);
      expect(JSON.parse(written.body!)).toEqual(body);
      expect(written.body).not.toMatch(/42|10\.0\.0\.5|secret-path/);
      expect(logged.join('\n')).toContain(exception.message);
    },
  );

  it('answers a plain 401 without a token-specific challenge', () => {
    expect(filterResponse(new UnauthorizedException()).headers['www-authenticate']).toBe('Bearer');
  });

  it.each([
    ['an Error', new Error('connect ECONNREFUSED 10.0.0.5:5432 password=hunter2')],
    ['a 502 HttpException', new HttpException('bad gateway 10.0.0.5', 502)],
    ['a string', 'something broke at 10.0.0.5'],
    ['undefined', undefined],
    ['null', null],
    ['an object', { secret: 'hunter2' }],
  ])('answers %s with 500 and the generic body, the cause in the log only', (_name, exception) => {
    const written = filterResponse(exception);
    expect(written.status).toBe(500);
    expect(written.body).toBe('{"id":"internal_error","message":"Unexpected server side error."}');
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatch(/^error 500 internal_error: /);
    if (exception instanceof Error) expect(logged[0]).toContain(exception.message);
  });

  it('logs the cause of a 503 as one warning per interval, without a stack, and never sends it', () => {
    const cause = new Error('redis 10.0.0.7:6379 timed out');
    const filter = newFilter();
    const written = filterResponse(new StoreUnavailableError(cause), false, filter);
    filterResponse(new StoreUnavailableError(cause), false, filter);
    expect(written.body).not.toContain('10.0.0.7');
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatch(/^warn 503 service_unavailable: redis 10.0.0.7:6379 timed out/);
    expect(logged[0]).not.toContain('    at ');
  });

  it('does not log the refusals it answers as they are (401, 403, 406)', () => {
    filterResponse(new TokenError(true));
    filterResponse(new InsufficientPermissionsError());
    filterResponse(new NotAcceptableError());
    expect(logged).toEqual([]);
  });

  it('ends a response whose headers were already sent instead of writing a second one', () => {
    const written = filterResponse(new Error('failed while streaming'), true);
    expect(written).toEqual({ headers: {}, aborted: true });
    expect(logged[0]).toContain('failed while streaming');
  });
});
