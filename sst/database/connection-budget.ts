/**
 * umami_user's CONNECTION LIMIT, derived from the Umami tasks a stage runs and the pools each task really
 * opens (`docs/design.md` § "The contract with the Umami container"): a role's limit counts per server, and
 * Umami 3.x gets no replica pool.
 */
import { InvalidNameError } from "../errors.js";
import { umamiGetsReplica } from "./umami-replica.js";

/**
 * Connections of one Umami pool: Umami's `src/lib/prisma.ts` builds `new PrismaPg({ connectionString })`, a
 * `pg.Pool` with node-pg's default `max` of 10 (`docs/design.md` § "Umami's releases and Prisma").
 */
const UMAMI_POOL_MAX = 10;
/** An ECS rolling deploy (maximumPercent 200) runs the old and the new tasks side by side. */
const ROLLING_DEPLOY_FACTOR = 2;
/** What `umami-db post-deploy` holds as the stage's role while Umami runs (migration + audit probe). */
const POST_DEPLOY_CONNECTIONS = 2;

/** umami_user's CONNECTION LIMIT and where it comes from. */
export interface ConnectionBudget {
  poolMax: number;
  /** 1, or 2 when the task gets DATABASE_REPLICA_URL (a second pool): `readReplica` and a release that reads through it (umami-replica.ts). */
  poolsPerTask: number;
  tasks: number;
  rollingFactor: number;
  postDeploy: number;
  /** poolMax × poolsPerTask × tasks × rollingFactor + postDeploy. */
  total: number;
  /** The formula with the numbers, for messages. */
  formula: string;
}

/**
 * Derives umami_user's connection limit from the stage's Umami tasks and the pools each task really opens:
 * the replica pool only when the handoff gives the task DATABASE_REPLICA_URL (not to Umami 3.x, whose writes
 * would go to the reader).
 */
export function connectionBudget(container: {
  tasks: number;
  readReplica: boolean;
  umamiVersion: string;
}): ConnectionBudget {
  const { tasks, umamiVersion: version } = container;
  if (!Number.isInteger(tasks) || tasks < 1) {
    throw new InvalidNameError(
      "umamiTasks",
      String(tasks),
      "use a whole number of at least 1 (the Umami service's desired count).",
    );
  }
  const poolsPerTask = umamiGetsReplica(container.readReplica, version) ? 2 : 1;
  const withheld =
    container.readReplica && poolsPerTask === 1
      ? ` (no replica pool: Umami ${version} gets no DATABASE_REPLICA_URL)`
      : "";
  const total = UMAMI_POOL_MAX * poolsPerTask * tasks * ROLLING_DEPLOY_FACTOR + POST_DEPLOY_CONNECTIONS;
  const formula = `${UMAMI_POOL_MAX} per pool × ${poolsPerTask} pool${poolsPerTask > 1 ? "s" : ""} per task${withheld} × ${tasks} task${tasks > 1 ? "s" : ""} × ${ROLLING_DEPLOY_FACTOR} (rolling deploy) + ${POST_DEPLOY_CONNECTIONS} (post-deploy) = ${total}`;
  return {
    poolMax: UMAMI_POOL_MAX,
    poolsPerTask,
    tasks,
    rollingFactor: ROLLING_DEPLOY_FACTOR,
    postDeploy: POST_DEPLOY_CONNECTIONS,
    total,
    formula,
  };
}
