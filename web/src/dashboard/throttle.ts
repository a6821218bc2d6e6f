// At most one call per interval, the last request always honoured (a trailing call), so a burst
// of `pool:updated` events refreshes the bettors once now and once when the burst is over.

export interface Throttled {
  (): void;
  cancel(): void;
}

export function throttle(fn: () => void, intervalMs: number): Throttled {
  let last = -Infinity;
  let timer: ReturnType<typeof setTimeout> | null = null;
  const run = () => {
    timer = null;
    last = Date.now();
    fn();
  };
  const throttled = () => {
    if (timer !== null) return;
    const wait = last + intervalMs - Date.now();
    if (wait <= 0) run();
    else timer = setTimeout(run, wait);
  };
  throttled.cancel = () => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
  };
  return throttled;
}
