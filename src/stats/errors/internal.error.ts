import { HttpStatus } from '@nestjs/common';
import { ERROR_MESSAGES } from './error-messages';
import { StatsApiError } from './stats-api.error';

/** 500: anything unexpected. The cause is logged, never sent. */
export class InternalError extends StatsApiError {
  constructor(cause?: unknown) {
    super(HttpStatus.INTERNAL_SERVER_ERROR, 'internal_error', ERROR_MESSAGES.internal, {}, cause);
  }
}
