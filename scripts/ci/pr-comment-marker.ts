/** The hidden first line of the pull request's summary comment: how the next run finds it to update it. */
export const PR_COMMENT_MARKER = "<!-- umami-db:pr-summary -->";
