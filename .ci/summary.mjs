// Reads vitest's JSON report and prints the one plain line CI reads: "N passed, N failed[, N skipped]".
import {readFileSync} from 'node:fs'

const file = process.argv[2]
// vitest's exit status: errors outside tests (unhandled rejections, EPIPE...) fail the run without a failed test.
const runStatus = Number(process.argv[3] ?? 0)
let report
try {
  report = JSON.parse(readFileSync(file, 'utf8'))
} catch (error) {
  console.log(`could not read the test report ${file}: ${error.message}`)
  console.log('0 passed, 1 failed')
  process.exit(1)
}
const passed = report.numPassedTests ?? 0
const failed = (report.numFailedTests ?? 0) + (report.numRuntimeErrorTestSuites ?? 0)
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0)
// A suite that failed to load has no tests counted: count it as a failure so CI cannot pass on it.
const brokenSuites = (report.testResults ?? []).filter((s) => s.status === 'failed' && (s.assertionResults ?? []).length === 0).length
let totalFailed = failed + (report.numRuntimeErrorTestSuites ? 0 : brokenSuites)
if (runStatus !== 0 && totalFailed === 0) {
  console.log(`the test run exited ${runStatus} with no failed test (errors outside tests, see above): counted as one failure`)
  totalFailed = 1
}
console.log(`${passed} passed, ${totalFailed} failed${skipped ? `, ${skipped} skipped` : ''}`)
process.exit(totalFailed > 0 || passed === 0 ? 1 : 0)
