/** The provider versions pinned in sst.config.ts's `providers: { … }` block: `{ aws: "7.48.0", … }`. */
export function pinnedProviders(configText: string): Record<string, string>;
/** Why `root/.sst/platform` must be (re)installed, or null when it matches the repository. */
export function platformProblem(root: string): string | null;
