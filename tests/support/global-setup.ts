import { accessSync, constants } from 'node:fs';
import { CHROMIUM_PATH } from './web-driver.js';

/**
 * Runs once before any test file. The browser tests need Debian's Chromium; without it they would
 * each fail with a long Playwright stack trace, so stop at once with one line that says what is
 * missing and how to install it.
 */
export default function checkTestMachine(): void {
  try {
    accessSync(CHROMIUM_PATH, constants.X_OK);
  } catch {
    process.stderr.write(`linli tests: Chromium not found at ${CHROMIUM_PATH} — install it with \`apt-get install chromium\` (or set CHROMIUM_PATH)\n`);
    process.exit(1);
  }
}
