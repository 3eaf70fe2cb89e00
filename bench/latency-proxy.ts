/**
 * A TCP proxy in front of the embedded server that delays every chunk the server sends by `delayMs`, so a
 * benchmark can measure round trips as a network would cost them (an in-VPC connection to Aurora adds
 * roughly 0.3–1 ms per round trip) instead of computing them. Chunks keep their order; the client → server
 * direction is not delayed, so one query-and-answer costs one delay. Node's timers fire at millisecond
 * granularity, never early: the delay actually added is measured by the caller (`measureRoundTrip`).
 */
import { createServer, connect as connectTcp, type Socket } from "node:net";
import { once } from "node:events";
import { withClient, type ConnectionSettings } from "../scripts/kernel/db.js";
import { median } from "./stats.js";

/** A running proxy: connect to `127.0.0.1:port`; `close()` ends every connection. */
export interface LatencyProxy {
  port: number;
  close(): Promise<void>;
}

/** Starts a proxy to `target` that delays the server's answers by `delayMs`. */
export async function startLatencyProxy(
  target: { host: string; port: number },
  delayMs: number,
): Promise<LatencyProxy> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connectTcp(target.port, target.host);
    sockets.add(client).add(upstream);
    const queue: { due: number; chunk: Buffer }[] = [];
    let timer: NodeJS.Timeout | undefined;
    const flush = () => {
      timer = undefined;
      const now = performance.now();
      while (queue.length > 0 && queue[0].due <= now) client.write(queue.shift()!.chunk);
      if (queue.length > 0) timer = setTimeout(flush, queue[0].due - now);
    };
    upstream.on("data", (chunk: Buffer) => {
      queue.push({ due: performance.now() + delayMs, chunk });
      timer ??= setTimeout(flush, delayMs);
    });
    client.on("data", (chunk: Buffer) => upstream.write(chunk));
    const end = () => {
      if (timer) clearTimeout(timer);
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("close", end).on("error", end);
    upstream.on("close", end).on("error", end);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  return {
    port: typeof address === "object" && address ? address.port : 0,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The median time of `SELECT 1` over `settings` (connected once, `samples` round trips), in milliseconds. */
export async function measureRoundTrip(settings: ConnectionSettings, samples = 50): Promise<number> {
  return withClient(settings, async (c) => {
    const times: number[] = [];
    for (let i = 0; i < samples; i++) {
      const started = performance.now();
      await c.query("SELECT 1");
      times.push(performance.now() - started);
    }
    return median(times);
  });
}
