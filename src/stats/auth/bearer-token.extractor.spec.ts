import { MAX_TOKEN_LENGTH, readBearerToken } from './bearer-token.extractor';

const TOKEN = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';
const withHeader = (authorization?: unknown) =>
  ({ headers: authorization === undefined ? {} : { authorization } }) as never;
const tokenOf = (request: never) => readBearerToken(request).token;

describe('readBearerToken', () => {
  it.each([
    [`Bearer ${TOKEN}`],
    [`bearer ${TOKEN}`],
    [`BEARER ${TOKEN}`],
    [`Bearer   ${TOKEN}`],
    [`Bearer\t${TOKEN}`],
    [`Bearer ${TOKEN} `],
  ])('reads the token of %j', (header) => {
    expect(tokenOf(withHeader(header))).toBe(TOKEN);
  });

  it('reads base64 tokens with padding, as RFC 6750 allows', () => {
    expect(tokenOf(withHeader('Bearer abc+/def=='))).toBe('abc+/def==');
  });

  it.each([
    ['no header', undefined],
    ['a non-string header', ['Bearer a', 'Bearer b']],
    ['another scheme', `Basic ${TOKEN}`],
    ['a scheme that merely starts like Bearer', `Bearerx ${TOKEN}`],
    ['no space after the scheme', `Bearer${TOKEN}`],
    ['a bare token', TOKEN],
    ['an empty token', 'Bearer '],
    ['the scheme alone', 'Bearer'],
    ['two tokens', `Bearer ${TOKEN} ${TOKEN}`],
    ['a token with a comma', `Bearer ${TOKEN},x`],
    ['a token with quotes', `Bearer "${TOKEN}"`],
    ['a leading space', ` Bearer ${TOKEN}`],
    ['padding in the middle', 'Bearer abc=def'],
    ['a token too long', `Bearer ${'a'.repeat(MAX_TOKEN_LENGTH + 1)}`],
    ['a header far too long', `Bearer ${'a'.repeat(1_000_000)}`],
  ])('reads nothing from %s', (_name, header) => {
    expect(tokenOf(withHeader(header))).toBeNull();
  });

  it('reads a token of exactly the maximum length', () => {
    const token = 'a'.repeat(MAX_TOKEN_LENGTH);
    expect(tokenOf(withHeader(`Bearer ${token}`))).toBe(token);
  });

  it('never reads the query string, the body or cookies', () => {
    const request = {
      headers: { cookie: `access_token=${TOKEN}` },
      query: { access_token: TOKEN },
      body: { access_token: TOKEN },
      cookies: { access_token: TOKEN },
    };
    expect(tokenOf(request as never)).toBeNull();
  });

  it('stays fast on hostile input', () => {
    const started = process.hrtime.bigint();
    for (const header of [
      `Bearer ${' '.repeat(8000)}x y`,
      `Bearer ${'a '.repeat(4000)}`,
      `Bearer ${'='.repeat(8000)}a`,
    ]) {
      readBearerToken(withHeader(header));
    }
    expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(50);
  });

  it.each([
    ['Express (a Node request)', (rawHeaders: string[]) => ({ rawHeaders })],
    ['Fastify (the Node request under raw)', (rawHeaders: string[]) => ({ raw: { rawHeaders } })],
  ])('reads no token from a request with several Authorization headers, on %s', (_platform, shape) => {
    // Node keeps the first of repeated Authorization headers in `headers`: only the raw list shows them all.
    const request = {
      headers: { authorization: `Bearer ${TOKEN}` },
      ...shape(['Host', 'x', 'Authorization', `Bearer ${TOKEN}`, 'authorization', 'Bearer other']),
    };
    expect(readBearerToken(request)).toEqual({
      token: null,
      presented: true,
      reason: 'the request has more than one Authorization header',
    });
    const single = { headers: request.headers, ...shape(['Host', 'x', 'Authorization', `Bearer ${TOKEN}`]) };
    expect(tokenOf(single as never)).toBe(TOKEN);
  });
});

describe('readBearerToken: why there is no token, and whether one was presented', () => {
  it.each([
    [undefined, false, 'no Authorization header'],
    ['Basic dXNlcjpwYXNz', false, 'the Authorization header is not of the Bearer scheme'],
    [`Bearerx ${TOKEN}`, false, 'the Authorization header is not of the Bearer scheme'],
    ['Bearer', false, 'the bearer token is empty'],
    ['Bearer  \t', false, 'the bearer token is empty'],
    [
      `Bearer ${'a'.repeat(MAX_TOKEN_LENGTH + 100)}`,
      true,
      `the bearer token is longer than ${MAX_TOKEN_LENGTH} characters`,
    ],
    [`Bearer ${TOKEN} ${TOKEN}`, true, 'the Authorization header is not a single well-formed bearer token'],
  ])('%j: presented %p, reason %j', (header, presented, reason) => {
    expect(readBearerToken(withHeader(header))).toEqual({ token: null, presented, reason });
  });

  it.each([[`Bearer ${TOKEN}`], [`bearer ${TOKEN}`]])('%j: a token', (header) => {
    expect(readBearerToken(withHeader(header))).toEqual({ token: TOKEN });
  });
});
