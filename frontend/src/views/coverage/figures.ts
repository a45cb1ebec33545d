// The coverage figures shared by the map and the trends: which figures are offered,
// which of them are rates (they do not add up across communities), how a figure
// reads, and the shape of the communities report (GET /api/v1/coverage/communities).

/** A figure as the API gives it: a number, "<10" when suppressed for the bureau, or null. */
export type Figure = number | string | null

export const METRICS = [
  'seniors_total',
  'seniors_tier_a',
  'served_30d',
  'tier_a_unserved_30d',
  'covered_15min_share',
  'alarms',
  'accept_p90_s',
  'satisfaction_mean',
] as const
export type Metric = (typeof METRICS)[number]

/** Shares, means and percentiles: a district value cannot be had by adding communities. */
export const RATES: ReadonlySet<Metric> = new Set<Metric>(['covered_15min_share', 'accept_p90_s', 'satisfaction_mean'])

export type CommunityFigures = Record<string, Figure> & { community_id: number; name: string; street: string }

export interface CommunitiesReport {
  month: string
  as_of: string | null
  is_final: boolean
  suppressed: boolean
  items: CommunityFigures[]
}

/** A figure as text: suppressed figures as they come, shares as percentages. */
export function figureText(v: Figure | undefined, key: string, none: string): string {
  if (v == null) return none
  if (typeof v === 'string') return v
  if (key.endsWith('_share') || key.endsWith('_rate')) return `${(v * 100).toFixed(1)}%`
  return String(v)
}

/** This month (`YYYY-MM`) on the reader's clock. */
export function thisMonth(now = new Date()): string {
  return `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, '0')}`
}

/** The twelve months ending with `month`, oldest first. */
export function lastTwelve(month: string): string[] {
  const [y, m] = month.split('-').map(Number)
  return Array.from({ length: 12 }, (_, i) => {
    const d = new Date(y, m - 1 - (11 - i), 1)
    return thisMonth(d)
  })
}
