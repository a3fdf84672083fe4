import { createParamDecorator, type ExecutionContext } from '@nestjs/common';

/** The media type AcceptGuard chose, per request; kept beside the request rather than on it. */
const chosen = new WeakMap<object, string>();

/** Called by AcceptGuard once it has admitted the request. */
export function rememberMediaType(request: object, mediaType: string): void {
  chosen.set(request, mediaType);
}

/** The media type AcceptGuard chose for this request (`application/json` when it did not run). */
export function mediaTypeOf(request: object): string {
  return chosen.get(request) ?? 'application/json';
}

/** The handler's parameter: the media type to answer with, as AcceptGuard negotiated it. */
export const NegotiatedMediaType = createParamDecorator((_data: unknown, context: ExecutionContext): string =>
  mediaTypeOf(context.switchToHttp().getRequest<object>()),
);
