// Shared by the call list and the family page: which answers are missing, and the
// server's field errors (`answers.<question>`) keyed by question id.
import type { Question } from '../../api/client'
import { ApiProblem } from '../../api/client'

export function missing(questions: Question[], answers: Record<string, unknown>): string[] {
  return questions.filter((q) => q.required && (answers[q.id] === undefined || answers[q.id] === '')).map((q) => q.id)
}

/** The answers to send: empty texts left out. */
export function cleaned(answers: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(answers).filter(([, v]) => v !== undefined && v !== ''))
}

export function questionErrors(e: unknown): Record<string, string> {
  if (!(e instanceof ApiProblem)) return {}
  const out: Record<string, string> = {}
  for (const [field, message] of Object.entries(e.fieldErrors())) {
    if (field.startsWith('answers.')) out[field.slice('answers.'.length)] = message
  }
  return out
}
