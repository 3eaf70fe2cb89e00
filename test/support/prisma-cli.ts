/**
 * Prisma's own `migrate deploy | status | resolve` (from `@prisma/migrate` 7.10), run the way Prisma's CLI runs
 * them, but offline: `Migrate` gets a `SchemaEngineWasm` over a `PrismaPg` adapter, as Prisma 6.16–6.19's CLI
 * did for `engine: "js"` (packages/migrate/src/Migrate.ts at 6.19.1: `SchemaEngineWasm.setup({ adapter, … })`).
 * Run it as a child process (`tsx test/support/prisma-cli.ts migrate status`) in a project directory holding
 * `prisma.config.ts` and `prisma/`: `MigrateStatus` ends with `process.exit(1)` as the real CLI does.
 *
 * What is not Prisma's code here, and why:
 * - the prisma CLI's `bin.ts` main (load the config, `parse`, print, exit code), copied in behaviour;
 * - the Wasm loader's file location: `@prisma/internals` looks for `schema_engine_bg.wasm` next to the
 *   bundled CLI (`prisma/build/`); here it comes from `@prisma/schema-engine-wasm`, which ships the same file;
 * - `Migrate.setup` takes 6.19's `engine: "js"` branch (7.10 only knows the native engine, which cannot be
 *   downloaded here); the adapter is what Umami 3.1.0 builds, `new PrismaPg({ connectionString }, { schema })`;
 * - 7.10's commands first ask the native binary `can-connect-to-database`; 6.19's JS path skipped that
 *   ("not compatible with WebAssembly"). `PRISMA_SCHEMA_ENGINE_BINARY` points at a stub that answers yes;
 *   the Wasm engine then connects for real, so an unreachable database still fails.
 */
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);

type AdapterFactory = unknown;
interface MigrateModule {
  Migrate: { setup: (input: Record<string, unknown>) => Promise<unknown> } & (new (
    input: Record<string, unknown>,
  ) => unknown);
  SchemaEngineWasm: { setup: (input: Record<string, unknown>) => Promise<unknown> };
  MigrateDeploy: CommandClass;
  MigrateStatus: CommandClass;
  MigrateResolve: CommandClass;
}
interface CommandClass {
  new: (cliCommand: string) => { parse(argv: string[], config: unknown, baseDir: string): Promise<string | Error> };
}

const migrateModule = require("@prisma/migrate") as MigrateModule;
const internals = require("@prisma/internals") as {
  wasmSchemaEngineLoader: { loadSchemaEngine: (input: unknown, debug: unknown, adapter: unknown) => Promise<unknown> };
  HelpError: new (...args: unknown[]) => Error;
  loadSchemaContext: (input: { schemaPath: unknown }) => Promise<unknown>;
  createSchemaPathInput: (input: { schemaPathFromConfig?: string; baseDir: string }) => unknown;
  inferDirectoryConfig: (schemaContext: unknown, config: unknown) => { migrationsDirPath: string };
};
const { loadConfigFromFile } = require("@prisma/config") as {
  loadConfigFromFile: (input: { configFile?: string }) => Promise<{
    config?: { schema?: string; datasource?: { url?: string } };
    error?: { _tag: string; error?: Error };
  }>;
};
const { PrismaPg } = require("@prisma/adapter-pg") as {
  PrismaPg: new (config: { connectionString: string }, options?: { schema?: string }) => AdapterFactory;
};
// The adapter's own copy of driver-adapter-utils, as @prisma/config 6.19 used it to wrap `config.adapter()`.
const { bindMigrationAwareSqlAdapterFactory } = createRequire(require.resolve("@prisma/adapter-pg"))(
  "@prisma/driver-adapter-utils",
) as { bindMigrationAwareSqlAdapterFactory: (f: AdapterFactory) => AdapterFactory };

// tsconfig's lib has no WebAssembly types (no DOM); Node has the global.
const { WebAssembly: wasm } = globalThis as unknown as {
  WebAssembly: {
    Module: new (bytes: Uint8Array) => object;
    Instance: new (module: object, imports: Record<string, unknown>) => { exports: Record<string, unknown> };
  };
};

/** The Wasm schema engine, instantiated as `@prisma/internals`' loader does, from the package's own file. */
async function loadWasmSchemaEngine(): Promise<{
  new: (input: unknown, debug: unknown, adapter: unknown) => Promise<unknown>;
}> {
  // The package exports no ./package.json; its main entry lies at its root.
  const packageDir = dirname(require.resolve("@prisma/schema-engine-wasm"));
  const runtime = (await import(join(packageDir, "schema_engine_bg.js"))) as {
    __wbg_set_wasm: (exports: Record<string, unknown>) => void;
    SchemaEngine: { new: (input: unknown, debug: unknown, adapter: unknown) => Promise<unknown> };
  };
  const module = new wasm.Module(await readFile(join(packageDir, "schema_engine_bg.wasm")));
  const instance = new wasm.Instance(module, { "./schema_engine_bg.js": runtime });
  runtime.__wbg_set_wasm(instance.exports);
  (instance.exports.__wbindgen_start as () => void)();
  return runtime.SchemaEngine;
}

let engine: Awaited<ReturnType<typeof loadWasmSchemaEngine>> | undefined;
internals.wasmSchemaEngineLoader.loadSchemaEngine = async (input, debug, adapter) => {
  engine ??= await loadWasmSchemaEngine();
  return engine.new(input, debug, adapter);
};

/** The schema named by `?schema=` (Prisma's rule: `public` when absent), which Umami passes to PrismaPg. */
function schemaOf(url: string): string {
  return new URL(url).searchParams.get("schema") ?? "public";
}

migrateModule.Migrate.setup = async ({ schemaContext, schemaEngineConfig, ...rest }) => {
  const url = (schemaEngineConfig as { datasource?: { url?: string } }).datasource?.url;
  if (!url) throw new Error("prisma.config.ts has no datasource.url");
  const adapter = bindMigrationAwareSqlAdapterFactory(
    new PrismaPg({ connectionString: url }, { schema: schemaOf(url) }),
  );
  const schemaEngine = await migrateModule.SchemaEngineWasm.setup({ adapter, schemaContext, ...rest });
  // Migrate's constructor is private in the types only; setup is what calls it in Prisma's own code.
  return new migrateModule.Migrate({ engine: schemaEngine, schemaContext, ...rest });
};

const COMMANDS: Record<string, CommandClass> = {
  deploy: migrateModule.MigrateDeploy,
  status: migrateModule.MigrateStatus,
  resolve: migrateModule.MigrateResolve,
};

/**
 * Not a CLI command: what Prisma's engine itself reports for the history (`diagnoseMigrationHistory`, the call
 * behind `migrate status`), as JSON, to read the fields `migrate status` does not print (`editedMigrationNames`).
 */
async function diagnose(config: { schema?: string }): Promise<string> {
  const schemaContext = await internals.loadSchemaContext({
    schemaPath: internals.createSchemaPathInput({ schemaPathFromConfig: config.schema, baseDir: process.cwd() }),
  });
  const { migrationsDirPath } = internals.inferDirectoryConfig(schemaContext, config);
  const migrate = (await migrateModule.Migrate.setup({
    schemaEngineConfig: config,
    baseDir: process.cwd(),
    migrationsDirPath,
    schemaContext,
  })) as {
    diagnoseMigrationHistory(input: { optInToShadowDatabase: boolean }): Promise<unknown>;
    stop(): Promise<void>;
  };
  try {
    return JSON.stringify(await migrate.diagnoseMigrationHistory({ optInToShadowDatabase: false }));
  } finally {
    await migrate.stop();
  }
}

/** Prisma CLI's `main()`: load the config, run the command, print its result; 0 on success, 1 otherwise. */
async function main(argv: string[]): Promise<number> {
  const [group, name, ...rest] = argv;
  const command = group === "migrate" ? COMMANDS[name] : undefined;
  if (!command && !(group === "migrate" && name === "diagnose"))
    throw new Error(`usage: prisma-cli migrate deploy|status|resolve|diagnose [options] (got ${argv.join(" ")})`);
  const { config, error } = await loadConfigFromFile({});
  if (error || !config) {
    console.error(`Failed to load the Prisma config: ${error?._tag} ${error?.error ?? ""}`);
    return 1;
  }
  if (!command) {
    console.log(await diagnose(config));
    return 0;
  }
  const result = await command.new("prisma").parse(rest, config, process.cwd());
  if (result instanceof Error) {
    console.error(result instanceof internals.HelpError ? result.message : result);
    return 1;
  }
  console.log(result);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    // Prisma's handleIndividualError.
    console.error(`Error: ${(error as Error).message}`);
    process.exit(1);
  },
);
