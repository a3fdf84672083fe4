import type { ServerResponse } from 'node:http';

/**
 * What the module's route and error filter need of the host's HTTP platform, whose request and
 * response objects differ (Express's extend Node's; Fastify's wrap them). One implementation per
 * supported platform; {@link HttpPlatformHost} picks the host's at start-up.
 */
export interface HttpPlatform {
  /** The platform's name, as its Nest adapter gives it (`getType()`). */
  readonly name: string;

  /**
   * Takes the response over from the platform, which then sends nothing of its own, and answers
   * the Node response to write to. Headers the host gave the response so far are kept.
   */
  takeOver(response: object): ServerResponse;

  /** Answers with a small, complete body through the platform, so that its own hooks run. */
  send(response: object, status: number, headers: Readonly<Record<string, string>>, body: string): void;

  /** Whether the response is under way (headers out, or taken over): nothing else can be sent. */
  isStarted(response: object): boolean;

  /** Ends a response that is under way by closing the connection, so the client sees it failed. */
  abort(response: object): void;

  /** The path of the request without its query string, which may hold tokens: for the log. */
  requestPath(request: object): string;
}

/** `url` up to its query string or fragment. */
export function pathOf(url: unknown): string {
  const text = typeof url === 'string' ? url : '';
  const end = text.search(/[?#]/);
  return end === -1 ? text : text.slice(0, end);
}
