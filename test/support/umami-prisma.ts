/**
 * Umami's consumer code, used only to prove what we provision: how Umami 3.1.0 builds its Prisma client and
 * sends raw queries, following
 * https://github.com/umami-software/umami/blob/v3.1.0/src/lib/prisma.ts (`getSchema`, `getClient`,
 * `rawQuery`, `pagedQuery`) and the queries of src/queries/prisma/user.ts, src/app/api/admin/users/route.ts
 * and src/queries/sql/sessions/createSession.ts. Read, not copied: only what those functions do to the database is kept.
 *
 * The client class is the one `prisma generate` makes from Umami's schema (see umami-client.ts); it is
 * imported at run time because it exists only after generation.
 */
import { PrismaPg } from "@prisma/adapter-pg";

/** One model delegate of the generated client, as far as these tests use it. */
export interface ModelDelegate {
  // The generated client types its arguments and rows per model; the tests read plain objects.
  create(args: object): Promise<Record<string, unknown>>;
  findUnique(args: object): Promise<Record<string, unknown> | null>;
  findMany(args: object): Promise<Record<string, unknown>[]>;
  count(args?: object): Promise<number>;
}

/** The generated `PrismaClient`, as far as Umami's code (and these tests) use it. */
export interface UmamiPrismaClient {
  user: ModelDelegate;
  website: ModelDelegate;
  session: ModelDelegate;
  websiteEvent: ModelDelegate;
  $executeRawUnsafe(sql: string, ...values: unknown[]): Promise<number>;
  $queryRawUnsafe<T = unknown>(sql: string, ...values: unknown[]): Promise<T>;
  $disconnect(): Promise<void>;
}

type PrismaClientClass = new (options: {
  adapter: PrismaPg;
  errorFormat?: "pretty" | "colorless" | "minimal";
}) => UmamiPrismaClient;

/** What Umami reads from its environment to reach the database. */
interface UmamiDatabaseEnv {
  DATABASE_URL: string;
  DATABASE_REPLICA_URL?: string;
}

/** Umami's data layer: the primary client, the replica's when configured, and `rawQuery`. */
export interface UmamiDataLayer {
  client: UmamiPrismaClient;
  replica?: UmamiPrismaClient;
  /** Umami's `rawQuery`: `{{name}}` / `{{name::type}}` placeholders become `$n`, after `SET search_path`. */
  rawQuery<T = Record<string, unknown>[]>(sql: string, data: Record<string, unknown>): Promise<T>;
  disconnect(): Promise<void>;
}

/** Umami's `getSchema`: Prisma's `?schema=` parameter of DATABASE_URL. */
function umamiSchema(env: UmamiDatabaseEnv): string | null {
  return new URL(env.DATABASE_URL).searchParams.get("schema");
}

/**
 * Umami's `getClient`: `new PrismaPg({ connectionString }, { schema })` — one `pg.Pool` with node-pg's
 * defaults (max 10), reading sslmode and sslrootcert from the URL with node-pg's semantics — and a second
 * pool for DATABASE_REPLICA_URL. Umami routes reads to the replica through `@prisma/extension-read-replicas`;
 * here `rawQuery` picks the replica directly, which opens the same connections.
 */
export function createUmamiDataLayer(PrismaClient: PrismaClientClass, env: UmamiDatabaseEnv): UmamiDataLayer {
  const schema = umamiSchema(env) ?? undefined;
  const client = new PrismaClient({
    adapter: new PrismaPg({ connectionString: env.DATABASE_URL }, { schema }),
    errorFormat: "pretty",
  });
  const replica = env.DATABASE_REPLICA_URL
    ? new PrismaClient({
        adapter: new PrismaPg({ connectionString: env.DATABASE_REPLICA_URL }, { schema }),
        errorFormat: "pretty",
      })
    : undefined;
  return {
    client,
    replica,
    async rawQuery<T>(sql: string, data: Record<string, unknown>): Promise<T> {
      // Umami sends this on the primary before every raw query (its schema name is pasted, quoted, as here).
      if (schema) await client.$executeRawUnsafe(`SET search_path TO "${schema}";`);
      const params: unknown[] = [];
      const query = sql.replaceAll(/\{\{\s*(\w+)(::\w+)?\s*}}/g, (_match, name: string, type: string | undefined) => {
        params.push(data[name]);
        return `$${params.length}${type ?? ""}`;
      });
      return (replica ?? client).$queryRawUnsafe<T>(query, ...params);
    },
    async disconnect() {
      await Promise.all([client.$disconnect(), replica?.$disconnect()]);
    },
  };
}

/** Umami's `createUser` (src/queries/prisma/user.ts): what its first admin and every new user go through. */
export function createUser(
  client: UmamiPrismaClient,
  data: { id: string; username: string; password: string; role: string },
) {
  return client.user.create({ data, select: { id: true, username: true, role: true } });
}

/**
 * The admin's Users page (src/app/api/admin/users/route.ts → `getUsers` → `pagedQuery`): every column of
 * `user` but the password, with each user's website count — the first query that reads `user.display_name`.
 */
export async function listUsersAsAdmin(client: UmamiPrismaClient) {
  const criteria = {
    include: { _count: { select: { websites: { where: { deletedAt: null } } } } },
    omit: { password: true },
    where: { deletedAt: null },
  };
  // pagedQuery: Umami's DEFAULT_PAGE_SIZE (20), page 1, ordered by createdAt descending.
  const data = await client.user.findMany({ ...criteria, take: 20, skip: 0, orderBy: [{ createdAt: "desc" }] });
  const count = await client.user.count({ where: criteria.where });
  return { data, count };
}

/** Umami's `createSession` (src/queries/sql/sessions/createSession.ts): a raw INSERT … ON CONFLICT DO NOTHING. */
export function createSession(layer: UmamiDataLayer, data: Record<string, unknown>) {
  return layer.rawQuery(
    `
    insert into session (session_id, website_id, browser, os, device, screen, language, country, region, city, distinct_id, created_at)
    values ({{id}}, {{websiteId}}, {{browser}}, {{os}}, {{device}}, {{screen}}, {{language}}, {{country}}, {{region}}, {{city}}, {{distinctId}}, {{createdAt}})
    on conflict (session_id) do nothing
    `,
    data,
  );
}
