// What the responders page works out from a responder's record in the browser: where
// to draw them, whether they are on shift now, their hours and absences today, and
// how soon their nursing licence runs out. Shifts are local `HH:MM` times and the
// browser's time zone is the district's, so "now" is the browser's clock.
import type { Absence, Responder, Shift } from '../../api/client'
import { isoWeekday, todayIso } from '../dispatch/vocab'

/** A position reported longer ago than this is not where the responder is now. */
export const FRESH_MINUTES = 30
/** A licence running out within this many days is flagged. */
export const LICENCE_WARNING_DAYS = 30

/** "08:30:00" or "08:30" -> 510 minutes after midnight. */
export function minutesOf(time: string): number {
  const [h, m] = time.split(':').map(Number)
  return (h || 0) * 60 + (m || 0)
}

/** Minutes after local midnight. */
export function minuteOfDay(now: Date): number {
  return now.getHours() * 60 + now.getMinutes()
}

/** The shifts of one weekday (1 = Monday .. 7 = Sunday), earliest first. */
export function shiftsOn(shifts: Shift[], weekday: number): Shift[] {
  return shifts.filter((s) => s.weekday === weekday).sort((a, b) => minutesOf(a.starts_at) - minutesOf(b.starts_at))
}

export function todaysShifts(r: Responder, now: Date): Shift[] {
  return shiftsOn(r.shifts, isoWeekday(todayIso(now)))
}

/** Inside one of today's shifts (a shift always ends after it starts, on the same day). */
export function onShiftNow(r: Responder, now: Date): boolean {
  const m = minuteOfDay(now)
  return todaysShifts(r, now).some((s) => minutesOf(s.starts_at) <= m && m < minutesOf(s.ends_at))
}

/** The absence covering today (dates inclusive), if any. */
export function absenceToday(r: Responder, now: Date): Absence | undefined {
  const today = todayIso(now)
  return r.absences.find((a) => a.starts_on <= today && today <= a.ends_on)
}

/** Whether the last reported position says where an on-duty responder is now. */
export function isLive(r: Responder, now: Date): boolean {
  if (!r.on_duty || !r.last_seen_at || r.last_latitude == null || r.last_longitude == null) return false
  const age = now.getTime() - Date.parse(r.last_seen_at)
  return Number.isFinite(age) && age <= FRESH_MINUTES * 60_000
}

export interface Spot {
  latitude: number
  longitude: number
  /** At the reported position (true) or at the home base (false). */
  live: boolean
}

/** Where to draw a responder: the live position, else the home base; null without either. */
export function spotOf(r: Responder, now: Date): Spot | null {
  if (isLive(r, now)) return { latitude: r.last_latitude as number, longitude: r.last_longitude as number, live: true }
  if (Number.isFinite(r.home_latitude) && Number.isFinite(r.home_longitude)) return { latitude: r.home_latitude, longitude: r.home_longitude, live: false }
  return null
}

/** Whole days from today to the licence's expiry (negative once expired); null without one. */
export function licenceDaysLeft(r: Responder, now: Date): number | null {
  if (!r.licence_expires_on) return null
  const [y, m, d] = r.licence_expires_on.split('-').map(Number)
  const expires = Date.UTC(y, m - 1, d)
  const today = Date.UTC(now.getFullYear(), now.getMonth(), now.getDate())
  return Math.round((expires - today) / 86_400_000)
}

type Translate = (key: string, params?: Record<string, unknown>) => string

/** "刚刚", "3 分钟前", "2 小时前", "5 天前". */
export function ago(iso: string, now: Date, t: Translate): string {
  const minutes = Math.floor((now.getTime() - Date.parse(iso)) / 60_000)
  if (!Number.isFinite(minutes)) return iso
  if (minutes < 1) return t('responders.ago.now')
  if (minutes < 60) return t('responders.ago.minutes', { n: minutes })
  if (minutes < 48 * 60) return t('responders.ago.hours', { n: Math.floor(minutes / 60) })
  return t('responders.ago.days', { n: Math.floor(minutes / 1440) })
}
