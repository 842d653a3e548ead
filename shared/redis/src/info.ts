/** One `field:value` of an `INFO` reply, or null. */
export function infoField(info: string, field: string): string | null {
  const m = new RegExp(`^${field}:(.*)$`, 'm').exec(info);
  return m?.[1]?.trim() ?? null;
}
