import type request from 'supertest';

export const UNAUTHORIZED = { id: 'unauthorized', message: 'Token error. Login again.' };
export const FORBIDDEN = { id: 'forbidden', message: 'Insufficient permissions to access this resource.' };
export const NOT_ACCEPTABLE = { id: 'not_acceptable', message: "Invalid 'Accept' header." };

/** Every refusal: exact status, exact body (only id and message), JSON, not cached. */
export function expectRefusal(response: request.Response, status: number, body: object): void {
  expect(response.status).toBe(status);
  expect(response.body).toEqual(body);
  expect(Object.keys(response.body)).toEqual(['id', 'message']);
  expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
  expect(response.headers['cache-control']).toBe('no-store');
}

/** A 401, naming the token as invalid only when one was presented (RFC 6750 section 3). */
export function expect401(response: request.Response, tokenPresented = true): void {
  expectRefusal(response, 401, UNAUTHORIZED);
  expect(response.headers['www-authenticate']).toBe(tokenPresented ? 'Bearer error="invalid_token"' : 'Bearer');
}
