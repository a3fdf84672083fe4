/**
 * `promise`, or a rejection with `timeoutError()` once `deadline` (epoch ms) has passed. A late
 * failure of `promise` is not left as an unhandled rejection.
 */
export function withinDeadline<T>(promise: Promise<T>, deadline: number, timeoutError: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timeoutError()), Math.max(0, deadline - Date.now()));
  });
  promise.catch(() => undefined);
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
