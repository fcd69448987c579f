/**
 * Coalesces concurrent work for the same key: the first caller runs `fn`, everyone who
 * arrives while it is in flight shares its promise. Once it settles the key is cleared, so
 * a later call runs again (a failure is shared by the waiters, never cached).
 *
 * The core wraps a whole miss (fetch + verify + commit) in one of these, so the key is
 * whatever identifies the object, e.g. `${repository}\0${path}`.
 */
export class SingleFlight<K, V> {
  readonly #inFlight = new Map<K, Promise<V>>();

  run(key: K, fn: () => Promise<V>): Promise<V> {
    const pending = this.#inFlight.get(key);
    if (pending) return pending;
    // Invoked through a promise so a synchronous throw in `fn` is shared like a rejection.
    const promise = Promise.resolve()
      .then(fn)
      .finally(() => {
        // Only clear our own entry: the key may already hold a newer flight.
        if (this.#inFlight.get(key) === promise) this.#inFlight.delete(key);
      });
    this.#inFlight.set(key, promise);
    return promise;
  }

  /**
   * Stops sharing the flight of `key`: it has failed and is only cleaning up, so later callers start
   * a new one instead of waiting for its failure. Callers that already joined still get it.
   */
  release(key: K): void {
    this.#inFlight.delete(key);
  }

  /** Whether work for `key` is in flight (for metrics and tests). */
  has(key: K): boolean {
    return this.#inFlight.has(key);
  }

  get size(): number {
    return this.#inFlight.size;
  }
}
