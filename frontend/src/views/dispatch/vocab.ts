// Dispatch's closed vocabularies and the small formatting helpers shared by the
// board, the profile's dispatch cards and the phone app.
import { useI18n } from 'vue-i18n'
import type { Diet, FailureReason, TaskKind, TaskStatus, WelfareOutcome } from '../../api/client'

export const TASK_KINDS: TaskKind[] = ['emergency', 'meal_delivery', 'home_bed', 'housekeeping', 'bathing', 'companionship', 'welfare_check']
export const TASK_STATUSES: TaskStatus[] = ['created', 'offered', 'escalated', 'accepted', 'en_route', 'on_site', 'completed', 'failed', 'cancelled']
/** The kinds a service plan can be for (emergencies and welfare checks are never planned). */
export const PLAN_KINDS: TaskKind[] = ['meal_delivery', 'home_bed', 'housekeeping', 'bathing', 'companionship']
export const DIETS: Diet[] = ['normal', 'low_salt', 'diabetic', 'soft', 'minced', 'pureed']
export const WELFARE_OUTCOMES: WelfareOutcome[] = ['reached_senior', 'reached_contact', 'visited', 'needs_help']
export const FAILURE_REASONS: FailureReason[] = ['not_home', 'refused', 'unsafe']
export const EMERGENCY_OUTCOMES = ['false_alarm', 'helped_at_home', 'sent_to_hospital'] as const
export const WEEKDAYS = [1, 2, 3, 4, 5, 6, 7] as const

/** Suggestions for a home-bed plan's nursing items, in the user's language. */
export const NURSING_ITEMS: Record<string, string[]> = {
  'zh-CN': ['换药', '测血压', '测血糖', '压疮护理', '导尿管护理', '鼻饲护理', '肌肉注射', '康复训练'],
  en: ['Dressing change', 'Blood pressure', 'Blood sugar', 'Pressure sore care', 'Catheter care', 'Tube feeding', 'Injection', 'Rehabilitation exercises'],
}

const TERMINAL = ['completed', 'cancelled', 'failed']

export function isFinished(status: string): boolean {
  return TERMINAL.includes(status)
}

type TagType = 'primary' | 'success' | 'info' | 'warning' | 'danger'

export function statusTagType(status: string): TagType {
  switch (status) {
    case 'created':
    case 'escalated':
      return 'danger'
    case 'offered':
      return 'warning'
    case 'accepted':
    case 'en_route':
    case 'on_site':
      return 'primary'
    case 'completed':
      return 'success'
    default:
      return 'info'
  }
}

export function kindTagType(kind: string): TagType {
  switch (kind) {
    case 'emergency':
      return 'danger'
    case 'welfare_check':
      return 'warning'
    default:
      return 'info'
  }
}

/** `label('taskKind', 'emergency')`: a translation when the vocabulary knows the value, else the value. */
export function useLabel() {
  const { t, te } = useI18n()
  return (group: string, value: string | null | undefined): string => {
    if (value === null || value === undefined || value === '') return ''
    const key = `enums.${group}.${value}`
    return te(key) ? t(key) : value
  }
}

function intlLocale(locale: string): string {
  return locale === 'en' ? 'en-GB' : 'zh-CN'
}

/** 08:05 (or 08:05:09 with seconds) in the browser's time zone, the district's. */
export function clock(iso: string | null | undefined, locale: string, seconds = false): string {
  if (!iso) return ''
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  return d.toLocaleTimeString(intlLocale(locale), { hour: '2-digit', minute: '2-digit', second: seconds ? '2-digit' : undefined, hour12: false })
}

/** A timestamp with its date when it is not today. */
export function when(iso: string | null | undefined, locale: string, seconds = false): string {
  if (!iso) return ''
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  const time = clock(iso, locale, seconds)
  if (d.toDateString() === new Date().toDateString()) return time
  return `${d.toLocaleDateString(intlLocale(locale), { month: 'numeric', day: 'numeric' })} ${time}`
}

/** "11:00" from the server's "11:00:00". */
export function hhmm(time: string): string {
  return time.slice(0, 5)
}

type Translate = (key: string, params?: Record<string, unknown>) => string

/** 135 -> "2 分 15 秒". */
export function duration(totalSeconds: number, t: Translate): string {
  const s = Math.max(0, Math.floor(totalSeconds))
  if (s < 60) return t('dispatch.seconds', { s })
  if (s < 3600) return t('dispatch.minutesSeconds', { m: Math.floor(s / 60), s: s % 60 })
  return t('dispatch.hoursMinutes', { h: Math.floor(s / 3600), m: Math.floor((s % 3600) / 60) })
}

/** 350 -> "350 米", 1234 -> "1.2 公里". */
export function distance(metres: number | null | undefined, t: Translate): string {
  if (metres === null || metres === undefined) return '—'
  return metres < 1000 ? t('dispatch.metres', { n: Math.round(metres) }) : t('dispatch.kilometres', { n: (metres / 1000).toFixed(1) })
}

export function minutes(value: number, t: Translate): string {
  return t('dispatch.minutes', { n: value < 10 ? value.toFixed(1) : Math.round(value) })
}

/** Today as YYYY-MM-DD in the browser's time zone. */
export function todayIso(now = new Date()): string {
  return `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, '0')}-${String(now.getDate()).padStart(2, '0')}`
}

/** Tomorrow as YYYY-MM-DD in the browser's time zone. */
export function tomorrowIso(now = new Date()): string {
  return todayIso(new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1))
}

/** 1 (Monday) to 7 (Sunday) for a YYYY-MM-DD date, as plans number their days. */
export function isoWeekday(date: string): number {
  const [y, m, d] = date.split('-').map(Number)
  return new Date(y, m - 1, d).getDay() || 7
}

type Label = (group: string, value: string | null | undefined) => string

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && x.trim() !== '') : []
}

/**
 * What a plan or a task asks for at the door, one line per detail. Plans made here
 * send `diet`, `allergies`, `nursing_items` and `duration_minutes`; older records
 * (the demo's among them) use `services`, `items` and `hours`, so both are read.
 */
export function detailLines(details: unknown, t: Translate, label: Label): string[] {
  if (!details || typeof details !== 'object') return []
  const d = details as Record<string, unknown>
  const out: string[] = []
  if (typeof d.diet === 'string' && d.diet) out.push(t('serviceDetail.diet', { v: label('diet', d.diet) }))
  const allergies = strings(d.allergies)
  if (allergies.length) out.push(t('serviceDetail.allergies', { v: allergies.join('、') }))
  const items = [...strings(d.nursing_items), ...strings(d.services), ...strings(d.items)]
  if (items.length) out.push(t('serviceDetail.items', { v: items.join('、') }))
  if (typeof d.duration_minutes === 'number' && d.duration_minutes > 0) out.push(t('serviceDetail.duration', { n: d.duration_minutes }))
  else if (typeof d.hours === 'number' && d.hours > 0) out.push(t('serviceDetail.hours', { n: d.hours }))
  const vitals = vitalsLine(d.vitals, t)
  if (vitals) out.push(vitals)
  return out
}

/** The vital signs taken at a nursing visit, on one line; '' when none were taken. */
export function vitalsLine(value: unknown, t: Translate): string {
  if (!value || typeof value !== 'object') return ''
  const v = value as Record<string, unknown>
  const num = (k: string) => (typeof v[k] === 'number' ? (v[k] as number) : null)
  const parts: string[] = []
  const sys = num('systolic')
  const dia = num('diastolic')
  if (sys !== null || dia !== null) parts.push(t('serviceDetail.bp', { sys: sys ?? '–', dia: dia ?? '–' }))
  for (const k of ['pulse', 'temperature', 'spo2', 'glucose']) {
    const n = num(k)
    if (n !== null) parts.push(t(`serviceDetail.${k}`, { n }))
  }
  return parts.length ? t('serviceDetail.vitals', { v: parts.join(' · ') }) : ''
}
