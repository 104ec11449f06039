/**
 * Listening to an `AbortSignal` for many waits at once. A program hands one signal to a whole batch (a
 * `map` of many chunks, a hundred `apply` calls under one `AbortController`): a listener per task made
 * Node warn of a listener leak past ten, and cost a listener's add and removal per task. Here a signal
 * gets one listener, which calls every callback registered on it.
 */

interface Listening {
  readonly callbacks: Set<() => void>;
  readonly listener: () => void;
}

const listening = new WeakMap<AbortSignal, Listening>();

/**
 * Calls `onAbort` once when `signal` aborts (the caller checks `signal.aborted` first); returns the
 * function that stops listening. The signal's one listener goes once nobody listens any more.
 *
 * @example
 * ```ts
 * const controller = new AbortController();
 * const stop = whenAborted(controller.signal, () => console.log('stopped'));
 * stop(); // nothing is called on abort now
 * ```
 */
export function whenAborted(signal: AbortSignal, onAbort: () => void): () => void {
  let current = listening.get(signal);
  if (current === undefined) {
    const callbacks = new Set<() => void>();
    const listener = (): void => {
      listening.delete(signal);
      for (const callback of callbacks) callback();
    };
    current = { callbacks, listener };
    listening.set(signal, current);
    signal.addEventListener('abort', listener, { once: true });
  }
  // A wrapper, so that one callback registered twice is two registrations.
  const entry = (): void => onAbort();
  const { callbacks, listener } = current;
  callbacks.add(entry);
  return () => {
    if (!callbacks.delete(entry) || callbacks.size > 0 || listening.get(signal)?.listener !== listener) return;
    listening.delete(signal);
    signal.removeEventListener('abort', listener);
  };
}
