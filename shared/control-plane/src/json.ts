/**
 * Parses a JSON value read from Redis; null for a missing key or a value that is not JSON. Every read of
 * the control plane tolerates a corrupt record this way (it is skipped or shown as absent) instead of
 * failing the whole read for operators. The value is not validated: the caller states the shape it trusts
 * (records written by this code base) with a cast at the call site, where a reader can see it.
 */
export function parseJson(raw: string | null | undefined): unknown {
  if (raw === null || raw === undefined || raw === '') return null;
  try {
    return JSON.parse(raw);
  } catch {
    return null;
  }
}
