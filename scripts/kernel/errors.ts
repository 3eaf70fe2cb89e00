/** The error kinds of the tool (STYLE.md rule 2), shared with the stack. */
export { UserError } from "../../sst/errors.js";
