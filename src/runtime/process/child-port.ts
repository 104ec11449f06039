/**
 * Child side of the `'process'` start method, once `child-entry.cjs` has loaded the library: reads the
 * start message (the first message on the IPC channel), opens the `ChildPort` over the channel, and
 * hands both to the bootstrap.
 *
 * The channel keeps the child alive only while a role listens on the port (a pool worker does; a
 * `Process` child ends when its target is done, as a thread does). An uncaught error ends the child
 * with exit code 1 after printing `Process <name>:` and the stack, as a thread's parent prints it,
 * unless the role handles such errors itself (a pool worker reports them and goes on).
 */
import { defineRole, type ChildPort, type RoleEntry, type StartMessage } from '../child.js';
import { runChild } from '../bootstrap.js';
import { currentProcess } from '../identity.js';
import { reportChildError } from '../report.js';
import type { WireMessage } from './message-codec.js';
import { decodeFromChannel, encodeForChannel, inheritedChannel } from './channel.js';
import { loadNative } from './native.js';
import { constants } from 'node:os';

/** The messages `child-entry.cjs` received before the role listened, and where it sends the next ones. */
interface Inbox {
  readonly queue: unknown[];
  deliver: ((message: unknown) => void) | undefined;
}

function reportUncaught(error: unknown): void {
  if (process.listenerCount('uncaughtException') > 1) return; // the role reports its own
  reportChildError(currentProcess().name, error);
  process.exit(1);
}

function take(inbox: Inbox, listener: (message: unknown) => void): void {
  inbox.deliver = listener;
  for (const message of inbox.queue.splice(0)) listener(message);
}

// The start message: the first on the channel (a message is never undefined).
function firstMessage(inbox: Inbox): Promise<unknown> {
  const queued = inbox.queue.shift();
  if (queued !== undefined) return Promise.resolve(queued);
  process.channel?.ref();
  return new Promise((resolve) => {
    inbox.deliver = (message) => {
      inbox.deliver = undefined;
      process.channel?.unref();
      resolve(message);
    };
  });
}

// The parent's death closes the IPC channel ('disconnect' in child-entry.cjs), which this child's event
// loop sees only between tasks; the kernel's parent-death signal (the addon's) also ends a child busy in
// synchronous code. SIGTERM, as `terminate()` sends: a child with a handler of its own may still clean up.
function endWithParent(parentPid: number): void {
  const { native } = loadNative();
  if (native !== undefined && !native.dieWithParent(constants.signals.SIGTERM, parentPid)) process.exit(1);
}

async function startProcessChild(inbox: Inbox): Promise<void> {
  process.on('uncaughtException', reportUncaught);
  // The socket its parent sends segment fds over (channel.ts), before its first message is read.
  const channel = inheritedChannel();
  const first = await firstMessage(inbox);
  const start = decodeFromChannel(channel, first as WireMessage) as StartMessage;
  endWithParent(start.identity.parent.pid);
  const port: ChildPort = {
    postMessage: (message, transfer) => {
      // Once the parent is gone, nobody reads: this child is exiting (child-entry.cjs).
      if (process.connected) process.send!(encodeForChannel(channel, message, transfer));
    },
    onMessage: (listener) => {
      process.channel?.ref();
      take(inbox, (message) => listener(decodeFromChannel(channel, message as WireMessage) as never));
    },
  };
  runChild(start, port);
}

/** What a `'process'` child's entry runs by name, after loading the module this names. */
export const processChildRole: RoleEntry = defineRole('process-child', startProcessChild as never, import.meta.url);
