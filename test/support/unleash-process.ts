import { start, ApiTokenType, type LogProvider } from 'unleash-server';

/**
 * The unleash-server a test talks to, run in a process of its own: Unleash's migration library
 * turns any uncaught error in its process into process.exit(1) and edits process.env and argv
 * while it migrates, which a test runner's process must not inherit. Its settings arrive as JSON
 * in UNLEASH_TEST_SERVER; the errors it logs go to stderr, where the test keeps them. It ends
 * when its stdin closes, so it never outlives the test process that started it.
 */
const settings = JSON.parse(process.env.UNLEASH_TEST_SERVER ?? '{}') as {
  databaseUrl: string;
  port: number;
  adminToken: string;
  clientToken: string;
  environment: string;
};

const ignore = () => {};
const report = (message: unknown) => process.stderr.write(`${String(message)}\n`);
const logger: LogProvider = () => ({ debug: ignore, info: ignore, warn: ignore, error: report, fatal: report });

await start({
  databaseUrl: settings.databaseUrl,
  db: { ssl: false },
  server: { host: '127.0.0.1', port: settings.port, gracefulShutdownEnable: false, serverMetrics: false },
  versionCheck: { enable: false },
  getLogger: logger,
  authentication: {
    initApiTokens: [
      { secret: settings.adminToken, tokenName: 'golive-admin', type: ApiTokenType.ADMIN, environment: '*', projects: ['*'] },
      { secret: settings.clientToken, tokenName: 'golive-app', type: ApiTokenType.BACKEND, environment: settings.environment, projects: ['default'] },
    ],
  },
});

process.stdin.resume().once('close', () => process.exit(0));
