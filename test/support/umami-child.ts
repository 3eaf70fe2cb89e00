/**
 * A child process that stands in for the Umami 3.1.0 container: it reads only what the container reads
 * (DATABASE_URL, DATABASE_REPLICA_URL; NODE_EXTRA_CA_CERTS is read by Node itself, at start, exactly as in
 * the container), builds Umami's data layer (umami-prisma.ts) and runs one scenario. It prints one JSON
 * line: `{ ok: true, result }` or `{ ok: false, step, error }`. Started by `runUmami` (umami-client.ts)
 * with `node --import tsx`; UMAMI_PRISMA_CLIENT names the generated client, UMAMI_SCENARIO_ARGS the
 * scenario's arguments (JSON).
 */
import { randomUUID } from "node:crypto";
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";
import {
  createSession,
  createUmamiDataLayer,
  createUser,
  listUsersAsAdmin,
  type UmamiDataLayer,
  type UmamiPrismaClient,
} from "./umami-prisma.js";

/** What a scenario reports about a failure: Prisma's error, and the driver's beneath it. */
export interface ChildError {
  name: string;
  message: string;
  code?: string;
  /** The driver adapter's error kind and the original message (e.g. node-pg's TLS error). */
  causes: string[];
}

/** One line the child prints when it is done. */
export type ChildOutcome =
  | { ok: true; result: Record<string, unknown> }
  | { ok: false; step: string; error: ChildError };

let step = "load the generated client";

function describeError(error: unknown): ChildError {
  const e = error as { name?: string; message?: string; code?: string; cause?: unknown };
  const causes: string[] = [];
  for (
    let c = e.cause as Record<string, unknown> | undefined, depth = 0;
    c && depth < 5;
    c = c.cause as Record<string, unknown> | undefined, depth++
  ) {
    causes.push(
      [c.kind, c.code, c.originalCode, c.message, c.originalMessage].filter((v) => typeof v === "string").join(": "),
    );
  }
  return { name: e.name ?? "Error", message: String(e.message ?? error), code: e.code, causes };
}

async function at<T>(name: string, fn: () => Promise<T>): Promise<T> {
  step = name;
  return fn();
}

/** Where the connection landed: TLS, user, the server's statement_timeout and search_path. */
async function whereAmI(client: UmamiPrismaClient) {
  const rows = await client.$queryRawUnsafe<
    { ssl: boolean; version: string | null; user: string; statement_timeout: string; search_path: string }[]
  >(`
    SELECT s.ssl, s.version, current_user AS "user",
           current_setting('statement_timeout') AS statement_timeout, current_setting('search_path') AS search_path
      FROM pg_catalog.pg_stat_ssl s
     WHERE s.pid = pg_catalog.pg_backend_pid()`);
  return rows[0];
}

/** Umami's own path for a user, a website (createdBy), a session and events, then reads them back. */
async function exercise(layer: UmamiDataLayer) {
  const { client } = layer;
  const userId = randomUUID();
  const user = await at("create user", () =>
    createUser(client, {
      id: userId,
      username: `admin-${userId.slice(0, 8)}`,
      password: "$2b$10$notarealhashnotarealhashnotarealhashnotarealhash00",
      role: "admin",
    }),
  );
  const users = await at("list users", () => listUsersAsAdmin(client));
  const websiteId = randomUUID();
  await at("create website", () =>
    client.website.create({
      data: { id: websiteId, name: "Example", domain: "example.com", userId, createdBy: userId },
    }),
  );
  const sessionId = randomUUID();
  const createdAt = new Date();
  await at("create session", () =>
    createSession(layer, {
      id: sessionId,
      websiteId,
      browser: "firefox",
      os: "Linux",
      device: "desktop",
      screen: "1920x1080",
      language: "en-US",
      country: "DE",
      region: "DE-BE",
      city: "Berlin",
      distinctId: null,
      createdAt,
    }),
  );
  const visitId = randomUUID();
  await at("save events", async () => {
    for (const [i, urlPath] of ["/", "/pricing", "/signup"].entries()) {
      await client.websiteEvent.create({
        data: {
          id: randomUUID(),
          websiteId,
          sessionId,
          visitId,
          urlPath,
          hostname: "example.com",
          pageTitle: `Page ${i}`,
          eventType: 1,
          createdAt: new Date(createdAt.getTime() + i * 1000),
        },
      });
    }
  });
  const website = await at("read website", () =>
    client.website.findUnique({
      where: { id: websiteId },
      include: { user: { select: { username: true, displayName: true } }, createUser: { select: { id: true } } },
    }),
  );
  const events = await at("read events", () =>
    client.websiteEvent.findMany({
      where: { websiteId },
      orderBy: { createdAt: "asc" },
      select: { urlPath: true, sessionId: true, visitId: true },
    }),
  );
  const sessions = await at("read sessions", () => client.session.count({ where: { websiteId } }));
  // A raw query the way Umami's reports send them (getWebsiteStats' shape): SET search_path, then `{{…}}` → $n.
  const stats = await at("raw query", () =>
    layer.rawQuery<{ pageviews: bigint; visitors: bigint; visits: bigint }[]>(
      `
      select count(*) as "pageviews", count(distinct session_id) as "visitors", count(distinct visit_id) as "visits"
        from website_event
       where website_id = {{websiteId::uuid}} and created_at between {{startDate}} and {{endDate}}
      `,
      { websiteId, startDate: new Date(createdAt.getTime() - 60_000), endDate: new Date(createdAt.getTime() + 60_000) },
    ),
  );
  const connection = await at("read connection", () => whereAmI(client));
  return {
    user,
    users,
    website,
    events,
    sessions,
    stats: stats.map((r) => ({
      pageviews: Number(r.pageviews),
      visitors: Number(r.visitors),
      visits: Number(r.visits),
    })),
    connection,
  };
}

/**
 * Fills every pool (the primary's, and the replica's when configured) with `perPool` concurrent raw queries
 * that wait for a shared advisory lock the test holds (`lockKey`), so every connection stays busy until the
 * test has counted them. Prints `{"ready":true}` once connected and, when told to wait, holds until a line
 * arrives on stdin, so that several children start their queries together.
 */
async function hold(layer: UmamiDataLayer, args: { perPool?: number; lockKey?: number; wait?: boolean }) {
  const perPool = args.perPool ?? 10;
  const clients = [layer.client, ...(layer.replica ? [layer.replica] : [])];
  await at("connect", () => Promise.all(clients.map((c) => c.$queryRawUnsafe("SELECT 1"))));
  process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
  if (args.wait) {
    const lines = createInterface({ input: process.stdin });
    await new Promise<void>((go) => lines.once("line", () => go()));
    lines.close();
  }
  step = "hold queries";
  const started = Date.now();
  const sql = `SELECT pg_catalog.pg_advisory_xact_lock_shared(${Math.trunc(Number(args.lockKey))})::text AS held`;
  const outcomes = await Promise.allSettled(
    clients.flatMap((c) => Array.from({ length: perPool }, () => c.$queryRawUnsafe(sql))),
  );
  const errors = outcomes.flatMap((o) => (o.status === "rejected" ? [describeError(o.reason)] : []));
  return {
    pools: clients.length,
    queries: outcomes.length,
    succeeded: outcomes.length - errors.length,
    errors,
    elapsedMs: Date.now() - started,
  };
}

/** A runaway raw query through Umami's `rawQuery`: how long until the server cut it off, and with what. */
async function runaway(layer: UmamiDataLayer, args: { seconds: number }) {
  await at("connect", () => layer.client.$queryRawUnsafe("SELECT 1"));
  const started = Date.now();
  const error = await layer
    .rawQuery("select pg_catalog.pg_sleep({{seconds}})::text as slept", { seconds: args.seconds })
    .then(
      () => null,
      (e: unknown) => describeError(e),
    );
  return { elapsedMs: Date.now() - started, error };
}

async function main(): Promise<ChildOutcome> {
  const [scenario] = process.argv.slice(2);
  const args = JSON.parse(process.env.UMAMI_SCENARIO_ARGS ?? "{}") as {
    perPool?: number;
    lockKey?: number;
    seconds: number;
    wait?: boolean;
  };
  const { PrismaClient } = (await import(pathToFileURL(process.env.UMAMI_PRISMA_CLIENT ?? "").href)) as {
    PrismaClient: never;
  };
  const layer = createUmamiDataLayer(PrismaClient, {
    DATABASE_URL: process.env.DATABASE_URL ?? "",
    DATABASE_REPLICA_URL: process.env.DATABASE_REPLICA_URL,
  });
  try {
    if (scenario === "connect") return { ok: true, result: await at("connect", () => whereAmI(layer.client)) };
    if (scenario === "exercise") return { ok: true, result: await exercise(layer) };
    if (scenario === "hold") return { ok: true, result: await hold(layer, args) };
    if (scenario === "runaway") return { ok: true, result: await runaway(layer, args) };
    throw new Error(`unknown scenario ${scenario}`);
  } finally {
    await layer.disconnect().catch(() => undefined);
  }
}

main().then(
  (outcome) =>
    process.stdout.write(`${JSON.stringify(outcome, (_k, v: unknown) => (typeof v === "bigint" ? Number(v) : v))}\n`),
  (error: unknown) =>
    process.stdout.write(
      `${JSON.stringify({ ok: false, step, error: describeError(error) } satisfies ChildOutcome)}\n`,
    ),
);
