// Field errors the API answers (422 `validation_error` with `details.fields`, or a rule broken
// by one field with `details.field`) as a map from field name to a sentence to show beside it.
import { ApiError } from "../lib/errors";

export function fieldErrors(error: unknown): Record<string, string> {
  if (!(error instanceof ApiError)) return {};
  const found: Record<string, string> = {};
  const fields = error.details["fields"];
  if (Array.isArray(fields)) {
    for (const item of fields as unknown[]) {
      if (typeof item !== "object" || item === null) continue;
      const { field, message } = item as { field?: unknown; message?: unknown };
      if (typeof field === "string" && typeof message === "string") {
        found[field] = sentence(message);
      }
    }
  }
  const field = error.details["field"];
  if (typeof field === "string" && !(field in found)) {
    const prefix = `${field}: `;
    found[field] = sentence(error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message);
  }
  return found;
}

/** The server's messages are lower-case fragments ("must match ..."): make them sentences. */
function sentence(message: string): string {
  const text = message.trim();
  if (text === "") return "This is not valid.";
  const first = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?]$/.test(first) ? first : `${first}.`;
}
