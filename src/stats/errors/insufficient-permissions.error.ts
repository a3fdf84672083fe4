import { HttpStatus } from '@nestjs/common';
import { ERROR_MESSAGES } from './error-messages';
import { StatsApiError } from './stats-api.error';

/** 403: the token is valid but lacks a required role. */
export class InsufficientPermissionsError extends StatsApiError {
  constructor() {
    super(HttpStatus.FORBIDDEN, 'forbidden', ERROR_MESSAGES.forbidden);
  }
}
