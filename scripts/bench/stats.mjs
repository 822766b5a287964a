// Pure helpers of `npm run bench`: summaries, ratios and the terminal table. Kept free of I/O so the unit
// tests can check them (a wrong median would make every published figure wrong).

/**
 * Median, min and max of a list of samples (milliseconds or bytes).
 * @param {number[]} samples
 * @returns {{median: number, min: number, max: number, n: number}}
 */
export function summarize(samples) {
  const finite = samples.filter((value) => Number.isFinite(value))
  if (finite.length === 0) return {median: Number.NaN, min: Number.NaN, max: Number.NaN, n: 0}
  const sorted = [...finite].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  const median = sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
  return {median, min: sorted[0], max: sorted.at(-1), n: sorted.length}
}

/**
 * The q-quantile (0..1) by linear interpolation between closest ranks (p50, p95 of watch latencies).
 * @param {number[]} samples
 * @param {number} q
 */
export function quantile(samples, q) {
  const sorted = samples.filter((value) => Number.isFinite(value)).sort((a, b) => a - b)
  if (sorted.length === 0) return Number.NaN
  const position = (sorted.length - 1) * Math.min(1, Math.max(0, q))
  const low = Math.floor(position)
  const high = Math.ceil(position)
  return sorted[low] + (sorted[high] - sorted[low]) * (position - low)
}

/**
 * value / baseline, or NaN when either is missing or the baseline is zero (never Infinity in the JSON).
 * @param {number} value
 * @param {number} baseline
 */
export function ratio(value, baseline) {
  if (!Number.isFinite(value) || !Number.isFinite(baseline) || baseline <= 0) return Number.NaN
  return value / baseline
}

/**
 * How many timed runs fit a time budget, given the duration of one warm-up run.
 * @param {number} oneRunMs
 * @param {{budgetMs: number, min: number, max: number}} limits
 */
export function runsFor(oneRunMs, limits) {
  if (!Number.isFinite(oneRunMs) || oneRunMs <= 0) return limits.max
  return Math.max(limits.min, Math.min(limits.max, Math.floor(limits.budgetMs / oneRunMs)))
}

/**
 * A number for the table: ms with sensible precision, ratios as `1.23x`, '-' for missing values.
 * @param {number | undefined} value
 * @param {'ms' | 'x' | 'MiB' | 'plain'} unit
 */
export function formatValue(value, unit) {
  if (value === undefined || value === null || !Number.isFinite(value)) return '-'
  if (unit === 'x') return `${value.toFixed(2)}x`
  if (unit === 'MiB') return `${value.toFixed(1)} MiB`
  if (unit === 'ms') return value >= 100 ? `${value.toFixed(0)} ms` : value >= 10 ? `${value.toFixed(1)} ms` : `${value.toFixed(2)} ms`
  return String(value)
}

/**
 * A plain-text table with a header row and columns padded to the widest cell (numbers right-aligned).
 * @param {string[]} header
 * @param {string[][]} rows
 * @returns {string}
 */
export function formatTable(header, rows) {
  const widths = header.map((cell, column) => Math.max(cell.length, ...rows.map((row) => (row[column] ?? '').length)))
  const numeric = header.map((_, column) => rows.length > 0 && rows.every((row) => /^[-\d.]|^-$/.test(row[column] ?? '-')))
  const line = (row) =>
    row
      .map((cell, column) => (numeric[column] ? (cell ?? '').padStart(widths[column]) : (cell ?? '').padEnd(widths[column])))
      .join('  ')
      .trimEnd()
  return [line(header), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(line)].join('\n')
}
