/**
 * The real OpenSSH server the tests start: it lives in src/lib/simulator/sshd.ts, shared with the
 * simulator's `--sshd` and the demo (none of it is in the published package).
 */
export * from '../../src/lib/simulator/sshd.js'
