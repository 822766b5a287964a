/**
 * Node/V8 settings for the long-running watcher (issue 11: resident memory at most 2x an idle bare node,
 * flat over thousands of changes). A watcher handles a few events a minute; V8's defaults are tuned for
 * throughput: a young generation that grows to 32 MiB or more per semi-space, and optimising compilers
 * whose code and zones stay resident. Measured with scripts/watch-memory.mjs (1,000 address changes,
 * Node 24, Linux x64; an idle bare node is about 43 MiB):
 *
 *   defaults                                     104 MiB and climbing
 *   WATCH_NODE_FLAGS on node's command line       59 MiB, flat
 *   applyWatcherRuntimeFlags() in a plain node    68 MiB, flat
 *
 * The event-to-file latency stays in milliseconds either way (the work per event is tiny).
 */

/**
 * The flags a service definition puts between node and ona's launcher (`node <flags> bin/run.js ssh-sync
 * --watch`): a 1 MiB young generation, and V8's lite mode (interpreter only, feedback allocated lazily).
 * Both must be given at start-up; V8 ignores them later.
 */
export const WATCH_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1', '--lite-mode']

/**
 * What can still be changed in a running process (a watcher started by hand, without WATCH_NODE_FLAGS):
 * the young generation stops growing, and the optimising tiers are off. V8 reads these flags at each
 * decision, so setting them before the watcher's work starts takes effect.
 */
const RUNTIME_FLAGS = ['--semi-space-growth-factor=1', '--no-opt', '--no-maglev']

/**
 * Set in every watcher, however started: V8 sizes the old generation for memory rather than speed (the
 * smallest heap growing factor, so a full GC comes early). Without it, what each write's ssh -G check
 * allocates is promoted, piles up to about 30 MiB before the first full GC, and those pages stay resident:
 * 93 MiB (2.2x an idle node) after 250 changes with verification on, 66 MiB with it (scripts/watch-memory.mjs
 * --no-gc, issue 18). V8 reads it at each GC, so setting it at run time takes effect.
 */
const MEMORY_FLAGS = ['--optimize-for-size']

/**
 * Applies MEMORY_FLAGS, and RUNTIME_FLAGS unless node was started with WATCH_NODE_FLAGS (then they are not
 * needed). True when RUNTIME_FLAGS were applied.
 */
export function applyWatcherRuntimeFlags(execArgv: readonly string[] = process.execArgv): boolean {
  // Loaded here, not at the top: the one-shot commands bundled with this module never load node:v8.
  const v8 = process.getBuiltinModule('node:v8')
  for (const flag of MEMORY_FLAGS) v8.setFlagsFromString(flag)
  if (WATCH_NODE_FLAGS.every((flag) => execArgv.includes(flag))) return false
  for (const flag of RUNTIME_FLAGS) v8.setFlagsFromString(flag)
  return true
}
