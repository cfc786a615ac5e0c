/**
 * The promise's outcome, or what `onTimeout` returns (or throws) when `ms` pass first. The
 * promise is left running either way (its later outcome is handled, never unhandled), and the
 * timer never outlives the race: cleared as soon as the promise settles.
 */
export function raceTimer<T, U>(promise: Promise<T>, ms: number, onTimeout: () => U): Promise<T | U> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      try {
        resolve(onTimeout());
      } catch (err) {
        reject(err);
      }
    }, ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
