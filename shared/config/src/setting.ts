import { z } from 'zod';

/** How a secret is shown when config is printed: hidden entirely, or a URL with its password hidden. */
export type SecretKind = false | 'value' | 'url';

/** One configuration key: where it comes from, what it must be, its default and what it means. */
export interface Setting<S extends z.ZodType = z.ZodType> {
  readonly kind: 'setting';
  /** Environment variable that sets it. */
  readonly env: string;
  /** Validates (and coerces from a string) the raw value. */
  readonly schema: S;
  /** Used when neither the environment nor the config file sets the key. `undefined` = optional. */
  readonly default: z.input<S> | undefined;
  readonly description: string;
  readonly secret: SecretKind;
  /**
   * The default is a published development value: production mode ignores it (the key is then unset) and
   * refuses it when set explicitly.
   */
  readonly devOnlyDefault: boolean;
}

export function setting<S extends z.ZodType>(spec: {
  env: string;
  schema: S;
  default?: z.input<S>;
  description: string;
  secret?: SecretKind;
  devOnlyDefault?: boolean;
}): Setting<S> {
  return {
    kind: 'setting',
    env: spec.env,
    schema: spec.schema,
    default: spec.default,
    description: spec.description,
    secret: spec.secret ?? false,
    devOnlyDefault: spec.devOnlyDefault ?? false,
  };
}

/** A tree of settings. */
export interface SettingTree {
  readonly [key: string]: Setting | SettingTree;
}

/** The typed configuration value of a setting tree. */
export type ConfigOf<T> = {
  -readonly [K in keyof T]: T[K] extends Setting<infer S> ? z.output<S> : ConfigOf<T[K]>;
};

export function isSetting(node: Setting | SettingTree): node is Setting {
  return node.kind === 'setting';
}

// ---- schema helpers: values arrive as strings from the environment, typed from a file ----

/** A whole number in [min, max]. */
export function int(min = 0, max = Number.MAX_SAFE_INTEGER) {
  return z.coerce.number().int().min(min).max(max);
}

/** A number in [min, max]. */
export function num(min: number, max: number) {
  return z.coerce.number().min(min).max(max);
}

/** `true/false/1/0/yes/no/on/off`. */
export function bool() {
  return z.preprocess((v) => (typeof v === 'boolean' ? String(v) : v), z.stringbool());
}

/** A comma-separated list (or an array, from a file) of non-empty strings. */
export function list<T extends z.ZodType<string>>(item: T) {
  return z.preprocess(
    (v) =>
      typeof v === 'string'
        ? v
            .split(',')
            .map((s) => s.trim())
            .filter((s) => s.length > 0)
        : v,
    z.array(item),
  );
}

/** A redis:// or rediss:// URL. */
export function redisUrl() {
  return z
    .string()
    .trim()
    .refine((s) => {
      try {
        const u = new URL(s);
        return u.protocol === 'redis:' || u.protocol === 'rediss:';
      } catch {
        return false;
      }
    }, 'a redis:// or rediss:// URL');
}
