import { HttpStatus } from '@nestjs/common';
import { StatsApiError } from './stats-api.error';

/** 500: anything unexpected. The cause is logged, never sent. */
export class InternalError extends StatsApiError {
  constructor(cause?: unknown) {
    super(HttpStatus.INTERNAL_SERVER_ERROR, 'internal_error', 'Unexpected server side error.', {}, cause);
  }
}
