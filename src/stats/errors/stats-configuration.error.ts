/** Thrown at start-up when the module's options are missing or wrong; the message names the option. */
export class StatsConfigurationError extends Error {
  constructor(
    /** The option's path, e.g. `sessions.redis.keyPrefix`, or `(root)` for the options object itself. */
    readonly option: string,
    /** What is wrong with it, the message without the option's name. */
    readonly problem: string,
  ) {
    super(`StatsModule option "${option}" ${problem}`);
    this.name = 'StatsConfigurationError';
  }
}
