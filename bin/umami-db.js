#!/usr/bin/env node
// Runs the TypeScript CLI through tsx's loader, so `npx umami-db` works without a build step.
import { register } from "tsx/esm/api";

// Node 22 is the line CI runs and .nvmrc names; Node 20.19 and later still run every command (README, "Set up",
// says so once). The AWS SDK's own nine-line notice about Node 20 would otherwise precede the tool's first line.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

register();
await import("../scripts/umami-db.ts");
