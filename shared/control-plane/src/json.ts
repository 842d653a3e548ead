/**
 * Parses a JSON value read from Redis; null for a missing key or a value that is not JSON. Every read of
 * the control plane tolerates a corrupt record this way (it is skipped or shown as absent) instead of
 * failing the whole read for operators.
 */
export function parseJson<T>(raw: string | null | undefined): T | null {
  if (raw === null || raw === undefined || raw === '') return null;
  try {
    return JSON.parse(raw) as T;
  } catch {
    return null;
  }
}
