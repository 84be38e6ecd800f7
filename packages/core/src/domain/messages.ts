import * as z from "zod";

/**
 * Validation messages in one voice, whichever schema a field fails: "is required", "must be ...". A schema's own
 * message (a pattern's, say) still wins; this replaces zod's defaults ("Invalid input: expected number, received
 * string"). Imported for its effect by every module that declares request schemas.
 */
const KINDS: Record<string, string> = {
  number: "a number",
  int: "an integer",
  string: "a string",
  boolean: "true or false",
  object: "a JSON object",
  array: "a list",
};

function fieldMessage(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case "invalid_type":
      return issue.input === undefined ? "is required" : `must be ${KINDS[issue.expected] ?? issue.expected}`;
    case "too_small": {
      const unit = issue.origin === "string" ? " characters" : issue.origin === "array" ? " entries" : "";
      return issue.inclusive === false ? `must be more than ${issue.minimum}${unit}` : `must be at least ${issue.minimum}${unit}`;
    }
    case "too_big": {
      const unit = issue.origin === "string" ? " characters" : issue.origin === "array" ? " entries" : "";
      return issue.inclusive === false ? `must be less than ${issue.maximum}${unit}` : `must be at most ${issue.maximum}${unit}`;
    }
    case "invalid_format":
      return issue.format === "datetime" ? "must be an ISO 8601 date-time, e.g. 2026-11-22T18:00:00Z" : `must be a valid ${issue.format}`;
    case "invalid_value":
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
    default:
      return undefined;
  }
}

z.config({ customError: fieldMessage });
