// The registry's closed vocabularies as the pages show them, and small helpers shared
// by the seniors list, the registration form and the profile.
import type {
  AssessmentReason,
  BarthelInput,
  ChangeKind,
  ConsentScope,
  EconomicStatus,
  FieldError,
  Gender,
  GrantedBy,
  LivingArrangement,
  SeniorStatus,
} from '../../api/client'

export const GENDERS: Gender[] = ['male', 'female']
export const LIVING: LivingArrangement[] = ['alone', 'couple', 'with_family', 'institution']
export const ECONOMIC: EconomicStatus[] = ['destitute', 'subsistence', 'low_income', 'ordinary']
export const REASONS: AssessmentReason[] = ['initial', 'periodic', 'hospital_discharge', 'fall', 'other']
export const STATUSES: SeniorStatus[] = ['active', 'hospitalised', 'moved_away', 'deceased']
export const CONSENT_SCOPES: ConsentScope[] = ['health_to_responders', 'notify_family', 'bell_monitoring', 'surveys', 'photos']
export const GRANTED_BY: GrantedBy[] = ['senior', 'guardian']
export const CHANGE_KINDS: ChangeKind[] = ['fall', 'hospital_discharge', 'other']
export const TIERS = ['A', 'B', 'C', 'D'] as const
export const FLAGS = ['alone', 'empty_nest', 'oldest_old', 'disabled', 'cognitive_impairment', 'destitute', 'subsistence'] as const

type TagType = 'primary' | 'success' | 'info' | 'warning' | 'danger'

/** A: most needy. */
export function tierTagType(tier: string | null | undefined): TagType {
  switch (tier) {
    case 'A':
      return 'danger'
    case 'B':
      return 'warning'
    case 'C':
      return 'primary'
    default:
      return 'info'
  }
}

export function flagTagType(flag: string): TagType {
  switch (flag) {
    case 'disabled':
    case 'cognitive_impairment':
      return 'danger'
    case 'alone':
    case 'empty_nest':
      return 'warning'
    case 'destitute':
    case 'subsistence':
      return 'success'
    default:
      return 'info'
  }
}

export function levelTagType(level: string | null | undefined): TagType {
  switch (level) {
    case 'severe':
      return 'danger'
    case 'moderate':
      return 'warning'
    case 'mild':
      return 'primary'
    default:
      return 'success'
  }
}

export type BarthelItem = keyof BarthelInput

/** The ten Barthel items with the scores each allows, highest first. */
export const BARTHEL: { item: BarthelItem; values: number[] }[] = [
  { item: 'feeding', values: [10, 5, 0] },
  { item: 'bathing', values: [5, 0] },
  { item: 'grooming', values: [5, 0] },
  { item: 'dressing', values: [10, 5, 0] },
  { item: 'bowels', values: [10, 5, 0] },
  { item: 'bladder', values: [10, 5, 0] },
  { item: 'toilet_use', values: [10, 5, 0] },
  { item: 'transfers', values: [15, 10, 5, 0] },
  { item: 'mobility', values: [15, 10, 5, 0] },
  { item: 'stairs', values: [10, 5, 0] },
]

/** The dependency level of a Barthel total, as the server computes it. */
export function dependencyOf(total: number): string {
  if (total >= 100) return 'independent'
  if (total >= 61) return 'mild'
  if (total >= 41) return 'moderate'
  return 'severe'
}

/** Whole years from a YYYY-MM-DD birth date to today. */
export function ageOf(birthDate: string, today = new Date()): number {
  const [y, m, d] = birthDate.split('-').map(Number)
  let age = today.getFullYear() - y
  if (today.getMonth() + 1 < m || (today.getMonth() + 1 === m && today.getDate() < d)) age -= 1
  return Math.max(0, age)
}

/** Today as YYYY-MM-DD in the browser's time zone (the district's, where the console is used). */
export function today(now = new Date()): string {
  return `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, '0')}-${String(now.getDate()).padStart(2, '0')}`
}

/** Whole days from one YYYY-MM-DD date to a later one. */
export function daysBetween(from: string, to: string): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000)
}

/** A timestamp as the user's locale writes it, to the minute. */
export function dateTime(iso: string, locale: string): string {
  const d = new Date(iso)
  return Number.isNaN(d.getTime())
    ? iso
    : d.toLocaleString(locale === 'en' ? 'en-GB' : 'zh-CN', { dateStyle: 'medium', timeStyle: 'short' })
}

/** 1500 fen -> "15.00". */
export function yuan(fen: number): string {
  return (fen / 100).toFixed(2)
}

/** Suggestions for free-text inputs, in the user's language. */
export const SUGGESTIONS: Record<'chronic' | 'allergies' | 'relation', Record<string, string[]>> = {
  chronic: {
    'zh-CN': ['高血压', '糖尿病', '冠心病', '脑卒中后遗症', '慢阻肺', '骨关节炎', '骨质疏松', '阿尔茨海默病', '帕金森病', '慢性肾病'],
    en: ['Hypertension', 'Diabetes', 'Coronary heart disease', 'After-effects of stroke', 'COPD', 'Osteoarthritis', 'Osteoporosis', "Alzheimer's disease", "Parkinson's disease", 'Chronic kidney disease'],
  },
  allergies: {
    'zh-CN': ['青霉素', '头孢类', '磺胺类', '阿司匹林', '海鲜', '花粉'],
    en: ['Penicillin', 'Cephalosporins', 'Sulfonamides', 'Aspirin', 'Seafood', 'Pollen'],
  },
  relation: {
    'zh-CN': ['儿子', '女儿', '配偶', '儿媳', '女婿', '孙子', '孙女', '兄弟姐妹', '邻居', '楼长', '社区网格员', '其他'],
    en: ['Son', 'Daughter', 'Spouse', 'Daughter-in-law', 'Son-in-law', 'Grandson', 'Granddaughter', 'Sibling', 'Neighbour', 'Building steward', 'Grid worker', 'Other'],
  },
}

type Translate = (key: string, params?: Record<string, unknown>) => string

/**
 * A server field error in the user's language. The server's messages are English and
 * its codes are coarse (`invalid`), so the few messages the registry sends are
 * recognised here; anything else is shown as the server wrote it.
 */
export function fieldErrorText(e: FieldError, t: Translate): string {
  const m = e.message
  const field = e.field.replace(/\[\d+\]/g, '')
  let match: RegExpMatchArray | null
  if (field === 'id_number') {
    if ((match = m.match(/check digit \(expected (\w)\)/))) return t('fieldErrors.idCheckDigit', { expected: match[1] })
    if (/18 characters/.test(m)) return t('fieldErrors.idLength')
    if (/17 digits/.test(m)) return t('fieldErrors.idCharacters')
    if (/impossible birth date/.test(m)) return t('fieldErrors.idBirthDate')
    if (e.code === 'birth_date_mismatch') {
      match = m.match(/(\d{4}-\d{2}-\d{2})/)
      return t('fieldErrors.idBirthMismatch', { date: match?.[1] ?? '' })
    }
  }
  if (e.code === 'future') return field === 'birth_date' ? t('fieldErrors.birthFuture') : t('fieldErrors.future')
  if (e.code === 'too_many' && (match = m.match(/at most (\d+)/))) return t('fieldErrors.tooManyContacts', { max: match[1] })
  if (e.code === 'too_young' && (match = m.match(/(\d+) years/))) return t('fieldErrors.tooYoung', { age: match[1] })
  if (e.code === 'invalid' && (field === 'phone' || field === 'contacts.phone')) return t('fieldErrors.phone')
  if (e.code === 'required' && field === 'guardian_name') return t('fieldErrors.guardianName')
  if (e.code === 'outside_service_area' && (match = m.match(/between (\S+) and (\S+)/)))
    return t('fieldErrors.outsideArea', { min: match[1], max: match[2] })
  if (e.code === 'unknown' && field === 'community_id') return t('fieldErrors.communityUnknown')
  if (e.code === 'required') return t('fieldErrors.required')
  if (e.code === 'length') {
    if ((match = m.match(/(\d+) to (\d+) characters/))) return t('fieldErrors.lengthRange', { min: match[1], max: match[2] })
    if ((match = m.match(/at most (\d+) characters/))) return t('fieldErrors.lengthMax', { max: match[1] })
  }
  if (e.code === 'range' && (match = m.match(/between (\S+) and (\S+)/))) return t('fieldErrors.range', { min: match[1], max: match[2] })
  return m
}
