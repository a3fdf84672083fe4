// Setup file of the `e2e-fastify` Jest project: the same e2e specs run on Fastify.
process.env.STATS_E2E_PLATFORM = 'fastify';
