// Shared by the benchmark scripts: the parent writes a JSON config as the first line on stdin
// and line commands after it; we answer in JSON lines on stdout. Also a wall clock with
// sub-millisecond resolution that compares between processes.
import { createInterface } from "node:readline";

let handle = () => {};
let settle;
const firstLine = new Promise((resolve) => {
  settle = resolve;
});
const lines = createInterface({ input: process.stdin });
let configured = false;
lines.on("line", (line) => {
  if (!configured) {
    configured = true;
    settle(JSON.parse(line));
    return;
  }
  const [command, ...rest] = line.trim().split(" ");
  if (command) handle(command, rest.join(" "));
});
lines.on("close", () => process.exit(0)); // the parent is gone: so are we

/** The script's settings: the JSON object on the first line of stdin. */
export function readConfig() {
  return firstLine;
}

/** Milliseconds since the epoch, fractional: comparable between processes on one machine. */
export function now() {
  return performance.timeOrigin + performance.now();
}

/** One JSON line to the parent. */
export function report(message) {
  process.stdout.write(JSON.stringify(message) + "\n");
}

/** Call `handler(command, rest)` for each line the parent writes after the config. */
export function onCommands(handler) {
  handle = handler;
}

/** Exit by ourselves, whatever happens, after `seconds`. */
export function deadline(seconds) {
  setTimeout(() => {
    report({ event: "error", message: `deadline of ${seconds} s reached` });
    process.exit(2);
  }, seconds * 1000).unref();
}

/** Run `work(item)` for every item, at most `limit` at a time; collect failures. */
export async function eachLimited(items, limit, work) {
  const failures = [];
  let next = 0;
  async function lane() {
    while (next < items.length) {
      const index = next++;
      try {
        await work(items[index], index);
      } catch (error) {
        failures.push(String(error?.message ?? error));
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return failures;
}

/** Resolve once the socket is connected; reject on a refused or failed connection. */
export function connected(socket) {
  return new Promise((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("connect_error", (error) => reject(error));
  });
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
