import { HttpStatus } from '@nestjs/common';
import { ERROR_MESSAGES } from './error-messages';
import { StatsApiError } from './stats-api.error';

/** 406: the `Accept` header admits none of the media types the route can send. */
export class NotAcceptableError extends StatsApiError {
  constructor() {
    super(HttpStatus.NOT_ACCEPTABLE, 'not_acceptable', ERROR_MESSAGES.notAcceptable);
  }
}
