/** Thrown at start-up when the module's options are missing or wrong; the message names the option. */
export class StatsConfigurationError extends Error {
  constructor(
    readonly option: string,
    problem: string,
  ) {
    super(`StatsModule option "${option}" ${problem}`);
    this.name = 'StatsConfigurationError';
  }
}
