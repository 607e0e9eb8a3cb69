// Options over their defaults, for the scripts' run functions (fuzz, soak): every option that is
// given, that is not undefined, replaces its default.

/** `defaults` with every given (not undefined) value of `options` put over it. */
export function withDefaults<T extends object>(options: Partial<T>, defaults: T): T {
  const merged = { ...defaults };
  for (const key of Object.keys(defaults) as (keyof T)[]) {
    const value = options[key];
    if (value !== undefined) merged[key] = value as T[keyof T];
  }
  return merged;
}
