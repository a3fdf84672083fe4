/** Injection token of the options as the host passed them to forRoot / forRootAsync. */
export const STATS_MODULE_OPTIONS = Symbol('STATS_MODULE_OPTIONS');

/** Injection token of the validated options, with every default filled in. */
export const STATS_RESOLVED_OPTIONS = Symbol('STATS_RESOLVED_OPTIONS');

/** Injection token of the {@link SessionStore} that keeps the module's own sessions. */
export const SESSION_STORE = Symbol('SESSION_STORE');

/**
 * Name of the module's passport strategy in its own registry (never passport's global one). Not
 * `jwt` either, so logs never confuse it with a host's strategy of that name.
 */
export const STATS_JWT_STRATEGY = 'stats-active-sessions-jwt';

/** Metadata key written by {@link RequireRoles}. */
export const REQUIRED_ROLES_METADATA = 'stats:required-roles';
