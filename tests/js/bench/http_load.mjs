// A closed-loop HTTP load: `connections` keep-alive connections, each sending the next request
// as soon as the last answer arrived, for `seconds`; reports the rate, latency percentiles
// (ms) and the statuses seen. Config: {url, connections, seconds, warmup, headers}.
import http from "node:http";

import { now, readConfig, report } from "./common.mjs";

const config = await readConfig();
const target = new URL(config.url);
const agent = new http.Agent({ keepAlive: true, maxSockets: config.connections });

function request() {
  return new Promise((resolve) => {
    const started = now();
    const req = http.request(
      { agent, host: target.hostname, port: target.port, path: target.pathname + target.search,
        headers: config.headers ?? {} },
      (res) => {
        res.on("data", () => {});
        res.on("end", () => resolve({ status: res.statusCode, ms: now() - started }));
      },
    );
    req.on("error", () => resolve({ status: 0, ms: now() - started }));
    req.end();
  });
}

async function run(seconds, record) {
  const until = now() + seconds * 1000;
  const loop = async () => {
    while (now() < until) {
      const answer = await request();
      if (record) record(answer);
    }
  };
  await Promise.all(Array.from({ length: config.connections }, loop));
}

await run(config.warmup ?? 1, null);
const latencies = [];
const statuses = {};
const started = now();
await run(config.seconds, ({ status, ms }) => {
  latencies.push(ms);
  statuses[status] = (statuses[status] ?? 0) + 1;
});
const elapsed = (now() - started) / 1000;
report({ event: "done", requests: latencies.length, seconds: elapsed, latencies, statuses });
agent.destroy();
