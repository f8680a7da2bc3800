/** Polls `fn` until it returns something truthy; fails naming `what` after `timeoutMs`. */
export async function waitFor<T>(fn: () => Promise<T | undefined | false>, what: string, timeoutMs = 20_000, everyMs = 100): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

