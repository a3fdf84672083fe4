/** Unit specs live next to the code; end-to-end specs (supertest over HTTP) live in test/. */
const common = {
  moduleFileExtensions: ['js', 'json', 'ts'],
  transform: { '^.+\\.ts$': 'ts-jest' },
  testEnvironment: 'node',
};

/**
 * The e2e specs run once per HTTP platform, the platform being their one parameter (see
 * test/support/http-platform.ts). Specs that do not serve HTTP from this process run once.
 */
const e2e = { ...common, rootDir: 'test', testRegex: '.*\\.e2e-spec\\.ts$' };
const PLATFORM_NEUTRAL = [
  '/package\\.e2e-spec\\.ts$', // hosts of its own, in child processes, one of them on Fastify
  '/admin-page\\.e2e-spec\\.ts$', // the browser test of the example host's page
  '/package-install\\.e2e-spec\\.ts$', // fresh hosts installed by npm, in child processes
  '/example-host\\.e2e-spec\\.ts$', // the example host, in a child process
  '/redis-cluster\\.e2e-spec\\.ts$', // the store on a real cluster, with faults: the platform is not its subject
];

module.exports = {
  projects: [
    { ...common, displayName: 'unit', rootDir: 'src', testRegex: '.*\\.spec\\.ts$' },
    { ...e2e, displayName: 'e2e', setupFiles: ['<rootDir>/support/express-platform.setup.ts'] },
    {
      ...e2e,
      displayName: 'e2e-fastify',
      setupFiles: ['<rootDir>/support/fastify-platform.setup.ts'],
      testPathIgnorePatterns: ['/node_modules/', ...PLATFORM_NEUTRAL],
    },
  ],
};
