import { HttpStatus } from '@nestjs/common';
import { ERROR_MESSAGES } from './error-messages';
import { StatsApiError } from './stats-api.error';

/** 401: no bearer token, or one that does not verify. The reason goes to the log only. */
export class TokenError extends StatsApiError {
  constructor(tokenPresented: boolean) {
    super(HttpStatus.UNAUTHORIZED, 'unauthorized', ERROR_MESSAGES.unauthorized, {
      // RFC 6750 section 3: name the error only when a token was actually presented.
      'WWW-Authenticate': tokenPresented ? 'Bearer error="invalid_token"' : 'Bearer',
    });
  }
}
