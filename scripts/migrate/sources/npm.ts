/**
 * `npm:umami@<version>`: refused. npm's packages are not Umami's release files: the registry's only `umami`
 * with migrations, `umami@2.10.0`, ships a pre-release `04_team_redesign` (`docs/design.md` § "Umami's releases and Prisma"), and Umami
 * publishes its releases as GitHub tags. There is deliberately no switch to accept it: a database already
 * migrated from it is named as such by `migrate status` against the release ("changed by Umami between
 * releases"), and files one must apply anyway can be passed as a directory, which the tool then names as
 * npm's pre-release copy in its output.
 */
import { UserError } from "../../kernel/errors.js";
import { shortChecksum } from "../errors.js";
import { DEFAULT_MIGRATIONS_SOURCE, knownRelease, NPM_PRERELEASE_COPY, umamiReleaseSource } from "./releases.js";

const NPM_SOURCE = /^npm:umami@(.+)$/;

/** The one-line refusal of an `npm:` source (npm's 2.10.0 named with what it lacks). */
export function refuseNpmSource(source: string): UserError {
  const copy = NPM_PRERELEASE_COPY;
  if (source === copy.source) {
    const [name, checksum] = Object.entries(copy.differs)[0];
    const release = knownRelease(copy.release)!.checksums[name];
    return new UserError(
      `${copy.source} is not Umami's 2.10.0 release: its ${name} is a pre-release copy (checksum ${shortChecksum(checksum)}, the release's is ${shortChecksum(release)}) ` +
        `that lacks ${copy.lacks.join(" and ")}, which Umami 3 needs. Use ${umamiReleaseSource(copy.release)} (or the default, ${DEFAULT_MIGRATIONS_SOURCE}).`,
    );
  }
  const version = NPM_SOURCE.exec(source)?.[1];
  return new UserError(
    `Migration source ${JSON.stringify(source)} is not supported: Umami publishes its releases as GitHub tags, and npm's umami@2.10.0 is a pre-release copy. ` +
      `Use ${version && /^\d+\.\d+\.\d+/.test(version) ? umamiReleaseSource(version) : DEFAULT_MIGRATIONS_SOURCE}, docker:<image> or a directory.`,
  );
}
