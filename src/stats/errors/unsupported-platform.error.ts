/** Thrown at start-up when the host serves HTTP on a platform the module's route cannot answer on. */
export class UnsupportedPlatformError extends Error {
  constructor(
    /** The platform as its Nest adapter names it (`getType()`). */
    readonly platform: string,
    adapterName: string,
  ) {
    super(
      `StatsModule does not support the HTTP platform "${platform}" (${adapterName}): ` +
        'it serves its route on Express (@nestjs/platform-express) or Fastify (@nestjs/platform-fastify)',
    );
    this.name = 'UnsupportedPlatformError';
  }
}
