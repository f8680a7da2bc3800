import { ConfigError, loadConfig } from './config.js';
import { createApp } from './app.js';
import { configuredSecrets, createLogger } from './log.js';

/** `npm start`: parse the environment once, start the roles, stop cleanly on SIGINT/SIGTERM. */
async function main() {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel, { secrets: configuredSecrets(config) });
  // Signals are taken from the start: Ctrl-C during start-up (initdb can take a while) waits for
  // the start to finish and then stops in order, rather than killing PostgreSQL half-way.
  let stopping = false;
  let running: Awaited<ReturnType<ReturnType<typeof createApp>['start']>> | undefined;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping: channels, then workers, then the database');
    // A library closing its sockets may still throw on its own timers: one line, not a stack.
    const quiet = (err: unknown) => logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'error while stopping');
    process.on('uncaughtException', quiet);
    process.on('unhandledRejection', quiet);
    if (running) await running.stop();
    logger.info('stopped');
    process.exit(0);
  };
  let pending: string | undefined;
  process.on('SIGINT', () => void (running ? stop('SIGINT') : (pending = 'SIGINT')));
  process.on('SIGTERM', () => void (running ? stop('SIGTERM') : (pending = 'SIGTERM')));
  running = await createApp(config, { logger, showCodes: process.stdout.isTTY === true, ownSignals: true }).start();
  console.log(running.summary);
  if (pending) await stop(pending);
}

main().catch((err) => {
  console.error('linli failed to start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
