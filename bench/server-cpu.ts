/**
 * What one deploy flow costs the database server in CPU, measured apart from its client: the embedded
 * server's processes are this machine's, so their CPU time is readable from /proc. The total is the
 * postmaster's own time, the time of the backends it has reaped (`cutime`/`cstime`: every connection
 * that closed) and the time of its live children. Linux only; clock-tick resolution (10 ms at 100 Hz) per
 * process, which is why flows are measured several at a time and divided.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const TICKS_PER_SECOND = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;

interface ProcStat {
  ppid: number;
  /** utime + stime + cutime + cstime, in milliseconds. */
  cpuMs: number;
}

function readStat(pid: number | string): ProcStat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may contain spaces) start at field 3 (state).
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0);
    return { ppid: Number(fields[1]), cpuMs: (ticks * 1000) / TICKS_PER_SECOND };
  } catch {
    return null; // the process ended between listing and reading
  }
}

/** The CPU time, in milliseconds, the server whose data directory is `dataDir` has used since it started. */
export function serverCpuMs(dataDir: string): number {
  const postmaster = Number(readFileSync(join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]);
  let total = readStat(postmaster)?.cpuMs ?? 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readStat(entry);
    if (stat?.ppid === postmaster) total += stat.cpuMs;
  }
  return total;
}

/** The figures of `measureFlowCpu`, per flow. */
export interface FlowCpu {
  flows: number;
  wallMs: number;
  /** Server CPU the flow caused, the idle server's own rate subtracted. */
  serverCpuMs: number;
  /** CPU of the process running the flow (the deploy runner's share; not the database's). */
  clientCpuMs: number;
  /** The idle server's background CPU, ms per second (checkpointer, WAL writer, autovacuum launcher …). */
  idleServerMsPerSecond: number;
}

/** Runs `flow` `count` times back to back on an otherwise idle server and divides the CPU used by `count`. */
export async function measureFlowCpu(
  dataDir: string,
  count: number,
  flow: (i: number) => Promise<unknown>,
): Promise<FlowCpu> {
  const idleStart = serverCpuMs(dataDir);
  const idleStarted = performance.now();
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  const idleServerMsPerSecond = (serverCpuMs(dataDir) - idleStart) / ((performance.now() - idleStarted) / 1000);

  const serverStart = serverCpuMs(dataDir);
  const clientStart = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < count; i++) await flow(i);
  const wallMs = performance.now() - started;
  const client = process.cpuUsage(clientStart);
  const serverMs = serverCpuMs(dataDir) - serverStart - (idleServerMsPerSecond * wallMs) / 1000;
  const round = (n: number) => Math.round(n * 10) / 10;
  return {
    flows: count,
    wallMs: round(wallMs / count),
    serverCpuMs: round(Math.max(0, serverMs) / count),
    clientCpuMs: round((client.user + client.system) / 1000 / count),
    idleServerMsPerSecond: round(idleServerMsPerSecond),
  };
}
