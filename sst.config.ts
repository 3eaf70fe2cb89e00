/// <reference path="./.sst/platform/config.d.ts" />
/**
 * Wiring only (STYLE.md): stage → settings → components → outputs. What must exist comes from
 * `sst/database/spec.ts`; which cluster a stage targets and how carefully it is treated, from `sst/stages.ts`.
 * SST evaluates this file before the providers are installed, so modules are imported inside the functions.
 */
export default $config({
  async app(input) {
    const { buildSpec } = await import("./sst/database/spec.js");
    const { checkStageName } = await import("./sst/stage-name.js");
    // The stage rules umami-db applies to --stage (UMAMI_NEW_STAGE=<stage> plays --new-stage for a look-alike).
    checkStageName(input.stage, { newStage: process.env.UMAMI_NEW_STAGE === input.stage });
    const spec = buildSpec(input.stage);
    const protect = spec.protect;
    return {
      name: "umami-aurora-schema",
      home: "aws",
      // "retain" keeps SST's own stateful components; UmamiDatabase sets retainOnDelete and protect on its
      // resources itself in protected stages, so `sst remove` there leaves role, schema and secret in place.
      removal: protect ? "retain" : "remove",
      // Protected stages refuse `sst remove` altogether.
      protect,
      providers: {
        aws: { version: "7.48.0", region: spec.cluster.region as aws.Region },
        postgresql: "3.18.1",
        random: "4.21.2",
      },
    };
  },
  async run() {
    const { buildSpec } = await import("./sst/database/spec.js");
    const { stackTags } = await import("./sst/observability/tags.js");
    const { UmamiDatabase } = await import("./sst/database/umami.js");
    const { ClusterAlarms, clusterAlarmsArgs } = await import("./sst/observability/alarms.js");
    const { LINKED_RESOURCE } = await import("./sst/outputs.js");

    const spec = buildSpec($app.stage);
    const tags = stackTags($app.stage, {}, spec);
    const database = new UmamiDatabase("Umami", { spec, tags });

    const alarms = new ClusterAlarms("Cluster", clusterAlarmsArgs($app.stage, spec.cluster, tags));

    // The shape umami-db reads back (sst/outputs.ts): a missing or extra output fails the type check.
    const outputs: import("./sst/outputs.js").StackOutputs<$util.Input<string>, $util.Input<number>> = {
      stage: $app.stage,
      region: spec.cluster.region,
      secretArn: database.secretArn,
      secretName: database.secretName,
      schema: database.schema,
      role: database.role,
      host: database.host,
      port: database.port,
      database: database.database,
      masterSecretArn: database.masterSecretArn,
    };
    // `sst shell --stage <stage> -- npx umami-db post-deploy …` finds these (no secret among them) as
    // SST_RESOURCE_UmamiDatabase; otherwise `umami-db` reads .sst/outputs.json, trusted only when `stage` matches.
    new sst.Linkable(LINKED_RESOURCE, { properties: outputs });
    return { ...outputs, dashboard: alarms.dashboard.dashboardName };
  },
});
