/**
 * A set of listeners for one kind of event. A listener that throws does not stop the others;
 * what happens to its error is the owner's choice (`onError`).
 */
export class Listeners<E> {
  private readonly set = new Set<(e: E) => void>();

  constructor(private readonly onError: (err: unknown, e: E) => void) {}

  /** Adds a listener; returns a function that removes it. */
  add(listener: (e: E) => void): () => void {
    this.set.add(listener);
    return () => this.set.delete(listener);
  }

  emit(e: E): void {
    for (const l of this.set) {
      try {
        l(e);
      } catch (err) {
        this.onError(err, e);
      }
    }
  }
}
