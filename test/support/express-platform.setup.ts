// Setup file of the `e2e` Jest project: the e2e specs run on Express.
process.env.STATS_E2E_PLATFORM = 'express';
