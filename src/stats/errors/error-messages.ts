/** The `message` of each error the routes answer with, as the documented API words them. */
export const ERROR_MESSAGES = {
  unauthorized: 'Token error. Login again.',
  forbidden: 'Insufficient permissions to access this resource.',
  notAcceptable: "Invalid 'Accept' header.",
  internal: 'Unexpected server side error.',
  storeUnavailable: 'Session store unavailable. Try again later.',
  keysUnavailable: 'Token keys unavailable. Try again later.',
  sourceTimeout: 'A session source did not answer in time.',
} as const;
