/**
 * Polls `fn` until it returns something truthy; fails naming `what` after `timeoutMs` (a function
 * is called then, so the message can show what a child process printed meanwhile).
 */
export async function waitFor<T>(fn: () => Promise<T | undefined | false>, what: string | (() => string), timeoutMs = 20_000, everyMs = 100): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${typeof what === 'function' ? what() : what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

