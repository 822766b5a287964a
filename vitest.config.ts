import {defineConfig} from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration tests spawn real ssh, sshd and the CLI; two cores do not benefit from more workers.
    maxWorkers: 2,
  },
})
