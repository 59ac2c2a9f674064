// A small cache for answers that rarely or never change: a schematic's ID
// is content-addressed (same text, same ID forever), and version catalogs
// change only when Talos releases.

/** Storage the client uses for cached answers; plug in your own (Redis, disk...). */
export interface FactoryCache {
  get(key: string): unknown | undefined;
  set(key: string, value: unknown, ttlMs: number): void;
}

/** In-memory cache with per-entry expiry and a size bound (oldest entries go first). */
export class MemoryCache implements FactoryCache {
  readonly #entries = new Map<string, { value: unknown; expires: number }>();
  constructor(
    readonly maxEntries = 500,
    readonly now: () => number = Date.now,
  ) {}
  get(key: string): unknown | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.expires <= this.now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }
  set(key: string, value: unknown, ttlMs: number): void {
    this.#entries.delete(key);
    this.#entries.set(key, { value, expires: this.now() + ttlMs });
    while (this.#entries.size > this.maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
  }
  clear(): void {
    this.#entries.clear();
  }
}
