// The API client: typed from the OpenAPI document the server generates
// (`npm run gen:api` writes src/api/schema.d.ts). The session lives in an HttpOnly
// cookie, so this code never sees or stores the token.
import createClient from 'openapi-fetch'
import type { components, paths } from './schema'

export type Me = components['schemas']['Me']
export type Role = components['schemas']['Role']
export type Problem = components['schemas']['Problem']
export type FieldError = components['schemas']['FieldError']

export const api = createClient<paths>({ baseUrl: '/', credentials: 'same-origin' })

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

  /** Field name -> message, for showing next to form inputs. */
  fieldErrors(): Record<string, string> {
    const out: Record<string, string> = {}
    for (const e of this.problem.errors ?? []) out[e.field] ??= e.message
    return out
  }
}

/** Unwraps an openapi-fetch result, throwing ApiProblem on an error status. */
export function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.response.ok) return result.data as T
  const retry = result.response.headers.get('retry-after')
  throw new ApiProblem(result.response.status, (result.error ?? {}) as Partial<Problem>, retry ? Number(retry) : null)
}
