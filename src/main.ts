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
  const running = await createApp(config, { logger, showCodes: process.stdout.isTTY === true }).start();
  console.log(running.summary);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    await running.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((err) => {
  console.error('linli failed to start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
