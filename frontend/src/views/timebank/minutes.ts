// Minutes as the time bank shows them: hours and minutes, signed when asked.
export function hours(minutes: number, signed = false): string {
  const sign = minutes < 0 ? '−' : signed && minutes > 0 ? '+' : ''
  const m = Math.abs(minutes)
  const h = Math.floor(m / 60)
  const rest = m % 60
  return `${sign}${h}:${String(rest).padStart(2, '0')}`
}
