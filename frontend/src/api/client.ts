// The API client: typed from the OpenAPI document the server generates
// (`npm run gen:api` writes src/api/schema.d.ts). The session lives in an HttpOnly
// cookie, so this code never sees or stores the token.
import createClient from 'openapi-fetch'
import type { components, operations, paths } from './schema'

export type Me = components['schemas']['Me']
export type Role = components['schemas']['Role']
export type Problem = components['schemas']['Problem']
export type FieldError = components['schemas']['FieldError']
export type Community = components['schemas']['CommunityView']
export type Senior = components['schemas']['SeniorView']
export type SeniorInput = components['schemas']['SeniorInput']
export type SeniorUpdate = components['schemas']['SeniorUpdate']
export type SeniorStatus = components['schemas']['SeniorStatus']
export type Contact = components['schemas']['ContactView']
export type ContactInput = components['schemas']['ContactInput']
export type Consent = components['schemas']['ConsentView']
export type ConsentInput = components['schemas']['ConsentInput']
export type ConsentScope = components['schemas']['ConsentScope']
export type GrantedBy = components['schemas']['GrantedBy']
export type Change = components['schemas']['ChangeView']
export type ChangeKind = components['schemas']['ChangeKind']
export type Overview = components['schemas']['Overview']
export type Assessment = components['schemas']['AssessmentView']
export type AssessmentInput = components['schemas']['AssessmentInput']
export type AssessmentReason = components['schemas']['AssessmentReason']
export type BarthelInput = components['schemas']['BarthelInput']
export type Gender = components['schemas']['Gender']
export type LivingArrangement = components['schemas']['LivingArrangement']
export type EconomicStatus = components['schemas']['EconomicStatus']
export type Task = components['schemas']['TaskView']
export type TaskEvent = components['schemas']['TaskEventView']
export type Offer = components['schemas']['OfferView']
export type TaskKind = components['schemas']['TaskKind']
/** The task state machine's states (the schema names them only on the board's filter). */
export type TaskStatus = NonNullable<NonNullable<operations['list_tasks']['parameters']['query']>['status']>
export type Alarm = components['schemas']['AlarmView']
export type Responder = components['schemas']['ResponderView']
export type Shift = components['schemas']['ShiftInput']
export type Absence = components['schemas']['AbsenceView']
export type AlarmPage = components['schemas']['Page_AlarmView']
export type Candidate = components['schemas']['Candidate']
export type Excluded = components['schemas']['Excluded']
export type Plan = components['schemas']['PlanView']
export type PlanInput = components['schemas']['PlanInput']
export type Diet = components['schemas']['Diet']
export type WelfareOutcome = components['schemas']['WelfareOutcome']
export type FailureReason = components['schemas']['FailureReason']
export type MyOffer = components['schemas']['MyOffer']
export type MyTask = components['schemas']['MyTask']
export type Station = components['schemas']['StationView']
export type MealPlan = components['schemas']['MealPlan']
export type RouteSheet = components['schemas']['RouteSheet']
export type SheetStop = components['schemas']['SheetStop']
export type UnplannedMeal = components['schemas']['UnplannedMeal']
export type TimebankAccount = components['schemas']['AccountView']
export type TimebankEntry = components['schemas']['EntryView']
export type PendingCredit = components['schemas']['PendingView']
export type RelativeLink = components['schemas']['RelativeView']
export type TimebankFlag = components['schemas']['FlagView']
export type SurveyView = components['schemas']['SurveyView']
export type CallList = components['schemas']['CallList']
export type CallItem = components['schemas']['CallItem']
export type SurveyTemplate = components['schemas']['Template']
export type Question = components['schemas']['Question']
export type AnswerResult = components['schemas']['AnswerResult']
export type FamilyLink = components['schemas']['FamilyLink']
export type PublicSurvey = components['schemas']['PublicSurvey']
export type Analysis = components['schemas']['Analysis']
export type AnalysisGroup = components['schemas']['Group']
export type GroupBy = components['schemas']['GroupBy']
export type CaseView = components['schemas']['CaseView']
export type CaseInput = components['schemas']['CaseInput']
export type CaseCategory = components['schemas']['CaseCategory']
export type Severity = components['schemas']['Severity']
export type CaseSource = components['schemas']['CaseSource']
export type ActionKind = components['schemas']['ActionKind']
export type Today = components['schemas']['Today']
export type OpenAlarm = components['schemas']['OpenAlarm']

// Answers are read as JSON (`application/json`, `application/geo+json`, problems):
// reports that can also be downloaded as CSV or XLSX are fetched as files elsewhere.
export const api = createClient<paths, `${string}/${string}json`>({ baseUrl: '/', credentials: 'same-origin' })

/** An error answer of the API, with its problem+json body. */
export class ApiProblem extends Error {
  status: number
  problem: Partial<Problem>
  retryAfter: number | null

  constructor(status: number, problem: Partial<Problem>, retryAfter: number | null) {
    super(problem.title ?? `HTTP ${status}`)
    this.status = status
    this.problem = problem
    this.retryAfter = retryAfter
  }

  /** The stable code at the end of the problem's `type` (`stale-version`, `already-taken`...). */
  get code(): string {
    return (this.problem.type ?? '').split('/').pop() ?? ''
  }

  /** Extra members of the problem (e.g. `existing_id` on a conflict). */
  extra(name: string): unknown {
    return (this.problem as Record<string, unknown>)[name]
  }

  /** Field name -> message, for showing next to form inputs. */
  fieldErrors(): Record<string, string> {
    const out: Record<string, string> = {}
    for (const e of this.problem.errors ?? []) out[e.field] ??= e.message
    return out
  }
}

/** Retry-After is either seconds or an HTTP date (RFC 9110 §10.2.3). */
function retryAfterSeconds(header: string | null): number | null {
  if (!header) return null
  const seconds = Number(header)
  if (Number.isFinite(seconds)) return Math.max(0, seconds)
  const at = Date.parse(header)
  return Number.isNaN(at) ? null : Math.max(0, Math.round((at - Date.now()) / 1000))
}

/** Unwraps an openapi-fetch result, throwing ApiProblem on an error status. */
export function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.response.ok) return result.data as T
  const retry = retryAfterSeconds(result.response.headers.get('retry-after'))
  throw new ApiProblem(result.response.status, (result.error ?? {}) as Partial<Problem>, retry)
}
