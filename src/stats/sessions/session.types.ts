/** A session as a host reports it, through {@link SessionsService.touch} or a {@link SessionSource}. */
export interface ActiveSession {
  /** Stable id of the client session; a session counts once per id. */
  id: string;
  /** Client IP address, IPv4 or IPv6 (an IPv4-mapped IPv6 address counts as the IPv4 address). */
  ip: string;
  /** Version the client reports, e.g. `6.1.2-32120-release`. Missing or empty: `unknown`. */
  clientVersion?: string;
  /** When the session was last seen (Date, epoch milliseconds or ISO string). Missing: now. */
  lastSeenAt?: Date | number | string;
}

/**
 * Sessions a host already keeps elsewhere (its own database, gateways it polls). The dashboard
 * merges every source with the module's own store: one session per id, the newest `lastSeenAt` wins.
 */
export interface SessionSource {
  /** Shown in logs when the source fails or is slow. Default: the class name. */
  readonly name?: string;
  listActiveSessions(): Promise<Iterable<ActiveSession>>;
}

/** Input of {@link SessionsService.touch}. */
export interface TouchSessionInput {
  id: string;
  ip: string;
  clientVersion?: string | null;
  /** When the session was seen; default now. A time in the future counts as now. */
  seenAt?: Date | number;
}
