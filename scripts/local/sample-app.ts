/**
 * A realistic stand-in for the application that already lives in the database: an administrator shaped
 * like Aurora's master user, a `public` schema with related tables and rows, a second application schema,
 * an application login role with its own grants, and a Drizzle-style migrations table. Used by
 * `umami-db local`, the tests and the benchmarks.
 */
import { quoteIdent } from "../../sst/database/quote.js";
import { withClient, type Client, type ConnectionSettings } from "../kernel/db.js";
import { generatePassword } from "../kernel/password.js";

/** The application's names in the sample. */
export const SAMPLE_APP = {
  database: "app",
  admin: "app_admin",
  appRole: "app_user",
  schemas: ["public", "billing", "drizzle"],
} as const;

/** Aurora's administrator group: the master user is a member, and so are the DBAs it grants it to. */
const RDS_SUPERUSER = "rds_superuser";

/**
 * What RDS gives `rds_superuser` besides its members' CREATEROLE and CREATEDB (RDS "Understanding the
 * rds_superuser role"): every session's state in pg_stat_activity (pg_monitor, which holds pg_read_all_stats)
 * and stopping any connection (pg_signal_backend). Not a superuser, not pg_read_all_data.
 */
const RDS_SUPERUSER_GRANTS = ["pg_monitor", "pg_signal_backend"] as const;

/**
 * Creates an administrator like Aurora's master: LOGIN, CREATEROLE, CREATEDB, member of an `rds_superuser`
 * group, owner of `database`, *not* a superuser (a superuser hides the failures Aurora shows —
 * `docs/design.md` § "Facts we measured"). Run as a superuser; `installAuroraExtensions` then adds what RDS's defaults put in the database.
 */
export async function createAuroraLikeAdmin(
  superuser: Client,
  admin: { name: string; password: string; database: string },
): Promise<void> {
  const role = quoteIdent(admin.name);
  const group = quoteIdent(RDS_SUPERUSER);
  const hasGroup = await superuser.query("SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1", [RDS_SUPERUSER]);
  if (hasGroup.rowCount === 0) {
    await superuser.query(`CREATE ROLE ${group} WITH NOLOGIN NOSUPERUSER`);
    await superuser.query(`GRANT ${RDS_SUPERUSER_GRANTS.join(", ")} TO ${group}`);
  }
  const exists = await superuser.query("SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1", [admin.name]);
  if (exists.rowCount === 0) {
    await superuser.query(
      `CREATE ROLE ${role} WITH LOGIN CREATEROLE CREATEDB NOSUPERUSER PASSWORD ${superuser.escapeLiteral(admin.password)}`,
    );
    await superuser.query(`GRANT ${group} TO ${role}`);
  }
  const db = await superuser.query("SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1", [admin.database]);
  if (db.rowCount === 0) await superuser.query(`CREATE DATABASE ${quoteIdent(admin.database)} OWNER ${role}`);
}

/**
 * What most Aurora databases hold from day one (`docs/design.md` § "Umami's releases and Prisma"): `pg_stat_statements`, preloaded by RDS's
 * default parameter group and created in the database, its views readable by PUBLIC by the extension's
 * design. Run as the superuser `superuser` reaches; connects to `database` (idempotent).
 */
export async function installAuroraExtensions(superuser: ConnectionSettings, database: string): Promise<void> {
  await withClient({ ...superuser, database }, (c) => c.query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements"));
}

/** Creates the sample application's schemas, role, tables and rows (idempotent). Run as the administrator. */
export async function seedSampleApplication(admin: Client, appPassword: string): Promise<void> {
  const appRole = quoteIdent(SAMPLE_APP.appRole);
  const exists = await admin.query("SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1", [SAMPLE_APP.appRole]);
  if (exists.rowCount === 0)
    await admin.query(`CREATE ROLE ${appRole} WITH LOGIN PASSWORD ${admin.escapeLiteral(appPassword)}`);
  await admin.query(`
    CREATE TABLE IF NOT EXISTS public.customers (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      email text NOT NULL UNIQUE,
      name text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE IF NOT EXISTS public.orders (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      customer_id bigint NOT NULL REFERENCES public.customers (id),
      status text NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'paid', 'shipped')),
      total_cents integer NOT NULL DEFAULT 0,
      updated_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX IF NOT EXISTS orders_customer_id_idx ON public.orders (customer_id);
    CREATE TABLE IF NOT EXISTS public.order_items (
      order_id bigint NOT NULL REFERENCES public.orders (id) ON DELETE CASCADE,
      sku text NOT NULL,
      quantity integer NOT NULL CHECK (quantity > 0),
      PRIMARY KEY (order_id, sku)
    );
    CREATE OR REPLACE VIEW public.order_totals AS
      SELECT c.email, count(o.id) AS orders, coalesce(sum(o.total_cents), 0) AS total_cents
      FROM public.customers c LEFT JOIN public.orders o ON o.customer_id = c.id
      GROUP BY c.email;
    CREATE SCHEMA IF NOT EXISTS billing;
    CREATE TABLE IF NOT EXISTS billing.invoices (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      order_id bigint NOT NULL REFERENCES public.orders (id),
      amount_cents integer NOT NULL,
      issued_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE SCHEMA IF NOT EXISTS drizzle;
    CREATE TABLE IF NOT EXISTS drizzle.__drizzle_migrations (
      id serial PRIMARY KEY,
      hash text NOT NULL,
      created_at bigint
    );
  `);
  const seeded = await admin.query<{ n: string }>("SELECT count(*) AS n FROM public.customers");
  if (seeded.rows[0].n === "0") {
    await admin.query(`
      INSERT INTO public.customers (email, name)
        SELECT 'customer' || i || '@example.com', 'Customer ' || i FROM pg_catalog.generate_series(1, 200) AS i;
      INSERT INTO public.orders (customer_id, status, total_cents)
        SELECT 1 + (i % 200), (ARRAY['new', 'paid', 'shipped'])[1 + i % 3], i * 100 FROM pg_catalog.generate_series(1, 1000) AS i;
      INSERT INTO public.order_items (order_id, sku, quantity)
        SELECT i, 'SKU-' || (i % 50), 1 + i % 4 FROM pg_catalog.generate_series(1, 1000) AS i;
      INSERT INTO billing.invoices (order_id, amount_cents)
        SELECT i, i * 100 FROM pg_catalog.generate_series(1, 500) AS i;
      INSERT INTO drizzle.__drizzle_migrations (hash, created_at)
        VALUES ('0000_initial', 1700000000000), ('0001_orders', 1700000100000);
    `);
  }
  await admin.query(`
    GRANT USAGE ON SCHEMA public, billing TO ${appRole};
    GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public, billing TO ${appRole};
    GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public, billing TO ${appRole};
  `);
}

/**
 * On the server `superuser` reaches: the Aurora-like administrator, its database (with Aurora's default
 * pg_stat_statements) and the sample application, with generated passwords. Returns the administrator's connection and the application role's.
 */
export async function createSampleDatabase(
  superuser: ConnectionSettings,
  applicationName: string,
): Promise<{ admin: ConnectionSettings; app: ConnectionSettings }> {
  const adminPassword = generatePassword();
  await withClient(superuser, (c) =>
    createAuroraLikeAdmin(c, { name: SAMPLE_APP.admin, password: adminPassword, database: SAMPLE_APP.database }),
  );
  await installAuroraExtensions(superuser, SAMPLE_APP.database);
  const admin: ConnectionSettings = {
    ...superuser,
    user: SAMPLE_APP.admin,
    password: adminPassword,
    database: SAMPLE_APP.database,
    applicationName,
  };
  const appPassword = generatePassword();
  await withClient(admin, (c) => seedSampleApplication(c, appPassword));
  return { admin, app: { ...admin, user: SAMPLE_APP.appRole, password: appPassword } };
}

/**
 * Gives a fresh sample database the pgcrypto that the default stage provides on a real one (in `public`), so
 * that a derived stage — which never manages pgcrypto (`spec.extension`) — can be deployed next to nothing.
 */
export async function addDefaultStagePgcrypto(admin: ConnectionSettings): Promise<void> {
  await withClient(admin, (c) => c.query("CREATE EXTENSION IF NOT EXISTS pgcrypto WITH SCHEMA public"));
}
