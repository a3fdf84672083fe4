import { HttpException, HttpStatus } from '@nestjs/common';

/**
 * An error the dashboard answers with: an HTTP status and the body `{ id, message }` of the
 * documented API. Extends HttpException so that a host's own filters still recognise the status
 * when the exported guard protects the host's routes.
 */
export class StatsApiError extends HttpException {
  constructor(
    status: HttpStatus,
    readonly id: string,
    message: string,
    /** Extra response headers, e.g. `WWW-Authenticate`. */
    readonly headers: Readonly<Record<string, string>> = {},
    cause?: unknown,
  ) {
    super({ id, message }, status, cause === undefined ? undefined : { cause });
  }

  get body(): { id: string; message: string } {
    return { id: this.id, message: this.message };
  }
}
