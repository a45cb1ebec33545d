// Task actions taken without a signal wait here (IndexedDB, so they survive closing
// the app) and are sent in the order they were made once the phone is back online
// or the app starts. Replaying must never record a step twice: an action the server
// already has (a 409 whose `current_status` shows it done, or a check-in the task
// already carries) counts as sent; any other refusal stays queued, with its reason
// shown, until the user sends it again or drops it.
import { ref } from 'vue'
import { get, update } from 'idb-keyval'
import { api, ApiProblem, unwrap, type FailureReason, type Task } from '../api/client'
import type { components } from '../api/schema'
import { store } from './store'

export type Fix = { latitude: number; longitude: number; accuracy_m: number | null }
/** Vital signs taken at a nursing visit; kept on the phone only until they are sent. */
export type Vitals = components['schemas']['Vitals']

/** What the responder did; a check-in or check-out carries the position taken at the tap. */
export type Action =
  | { kind: 'start' }
  | { kind: 'check_in' | 'check_out'; fix: Fix }
  | { kind: 'complete'; outcome: string; notes: string | null; vitals?: Vitals | null }
  | { kind: 'fail'; reason: FailureReason; notes: string | null }

export type Queued = Action & {
  id: string
  task_id: number
  user_id: number
  /** When the user tapped. */
  at: string
  /** Why the last attempt was refused, if it was. */
  error?: string
}

/** The queue as last read from the store, for the screen. */
export const queued = ref<Queued[]>([])
export const syncing = ref(false)
/** Why the last replay stopped early (no network, logged out, a server error), if it did. */
export const syncProblem = ref<'' | 'network' | 'session' | 'server'>('')

async function read(): Promise<Queued[]> {
  return (await get<Queued[]>('queue', store)) ?? []
}

export async function loadQueue(): Promise<void> {
  queued.value = await read()
}

async function change(edit: (items: Queued[]) => Queued[]): Promise<void> {
  await update<Queued[]>('queue', (old) => edit(old ?? []), store)
  await loadQueue()
}

/** Drops what another user left queued on this phone: it is theirs to send, not ours. */
export async function keepOnly(userId: number): Promise<void> {
  await change((items) => items.filter((q) => q.user_id === userId))
}

/** Gives up on one action (the task moved on and it can no longer apply). */
export async function drop(id: string): Promise<void> {
  await change((items) => items.filter((q) => q.id !== id))
}

/**
 * On a weak signal a request can hang for minutes with the browser still "online":
 * give up after this long and queue the action. Replaying is safe even if the
 * request did get through.
 */
const SEND_TIMEOUT_MS = 15_000

/** A failed fetch (no network, a dropped connection, our time-out), as opposed to an answer. */
export function isNetworkError(e: unknown): boolean {
  return e instanceof TypeError || (e instanceof DOMException && (e.name === 'TimeoutError' || e.name === 'AbortError'))
}

/**
 * Sends one action; throws ApiProblem on a refusal, a network error without an answer.
 * `at` is when the user tapped, for an action replayed from the queue: the server
 * records the check-in or check-out at that time.
 */
export async function send(taskId: number, a: Action, at?: string): Promise<Task> {
  const path = { id: taskId }
  const signal = AbortSignal.timeout(SEND_TIMEOUT_MS)
  switch (a.kind) {
    case 'start':
      return unwrap(await api.POST('/api/v1/tasks/{id}/start', { params: { path }, signal }))
    case 'check_in':
      return unwrap(await api.POST('/api/v1/tasks/{id}/check-in', { params: { path }, body: { ...a.fix, recorded_at: at }, signal }))
    case 'check_out':
      return unwrap(await api.POST('/api/v1/tasks/{id}/check-out', { params: { path }, body: { ...a.fix, recorded_at: at }, signal }))
    case 'complete':
      return unwrap(await api.POST('/api/v1/tasks/{id}/complete', { params: { path }, body: { outcome: a.outcome, notes: a.notes, vitals: a.vitals ?? null }, signal }))
    case 'fail':
      return unwrap(await api.POST('/api/v1/tasks/{id}/fail', { params: { path }, body: { reason: a.reason, notes: a.notes }, signal }))
  }
}

/**
 * Sends the action, or queues it when there is no network or an earlier action on
 * the same task is still waiting (so the server sees them in order).
 */
export async function perform(userId: number, taskId: number, a: Action): Promise<{ queued: true } | { queued: false; task: Task }> {
  await loadQueue()
  const behind = queued.value.some((q) => q.task_id === taskId)
  if (navigator.onLine && !behind) {
    try {
      return { queued: false, task: await send(taskId, a) }
    } catch (e) {
      if (!isNetworkError(e)) throw e
    }
  }
  const item: Queued = { ...a, id: crypto.randomUUID(), task_id: taskId, user_id: userId, at: new Date().toISOString() }
  await change((items) => [...items, item])
  return { queued: true }
}

/** The statuses that show an action already took effect. */
const DONE_WHEN: Record<Action['kind'], string[]> = {
  start: ['en_route', 'on_site', 'completed'],
  check_in: ['on_site', 'completed'],
  // Refused on site only when it was already checked out.
  check_out: ['on_site', 'completed'],
  complete: ['completed'],
  fail: ['failed'],
}

function tookEffect(a: Action, e: unknown): boolean {
  if (!(e instanceof ApiProblem) || e.status !== 409) return false
  // A lost race on the version says nothing about this action: try again.
  if (e.code === 'stale-version') return false
  const status = e.extra('current_status')
  return typeof status === 'string' && DONE_WHEN[a.kind].includes(status)
}

/**
 * The server lets a task "stay" where it is (a second start on the way, a second
 * check-in on site) and records it again, so these two are looked up first: if an
 * earlier attempt got through but its answer was lost, sending again would add a step.
 */
async function alreadyDone(item: Queued): Promise<boolean> {
  if (item.kind !== 'start' && item.kind !== 'check_in') return false
  const task = unwrap(await api.GET('/api/v1/tasks/{id}', { params: { path: { id: item.task_id } }, signal: AbortSignal.timeout(SEND_TIMEOUT_MS) }))
  if (item.kind === 'check_in') return !!task.check_in_at
  return DONE_WHEN.start.includes(task.status)
}

function reason(e: unknown): string {
  if (e instanceof ApiProblem) return e.problem.detail ?? e.problem.title ?? e.message
  return String(e)
}

async function replay(userId: number): Promise<number> {
  const items = (await read()).filter((q) => q.user_id === userId)
  // A refused action holds back the later ones on its task, not the others.
  const held = new Set<number>()
  let sent = 0
  syncProblem.value = ''
  for (const item of items) {
    if (held.has(item.task_id)) continue
    try {
      if (!(await alreadyDone(item))) await send(item.task_id, item, item.at)
      await drop(item.id)
      sent++
    } catch (e) {
      if (tookEffect(item, e)) {
        await drop(item.id)
        sent++
        continue
      }
      if (isNetworkError(e)) {
        syncProblem.value = 'network'
        break
      }
      if (e instanceof ApiProblem && e.status === 401) {
        syncProblem.value = 'session'
        break
      }
      const error = reason(e)
      await change((all) => all.map((q) => (q.id === item.id ? { ...q, error } : q)))
      if (e instanceof ApiProblem && e.status >= 500) {
        syncProblem.value = 'server'
        break
      }
      held.add(item.task_id)
    }
  }
  return sent
}

let running: Promise<number> | null = null

/**
 * Sends what is queued, once at a time across the app's tabs (Web Locks where the
 * browser has them). Resolves to how many actions left the queue.
 */
export function sync(userId: number): Promise<number> {
  if (running) return running
  syncing.value = true
  const run = () => replay(userId)
  const once = async (): Promise<number> => ('locks' in navigator ? await navigator.locks.request('linli-sync', run) : await run())
  running = once().finally(async () => {
    running = null
    syncing.value = false
    await loadQueue()
  })
  return running
}

/** Forgets every queued action (logging out). */
export async function clearQueue(): Promise<void> {
  await change(() => [])
}

/** The task as the responder will have it once the queue is through: shown while offline. */
export function projected<T extends { task_id: number; status: string; check_in_at?: string | null; check_out_at?: string | null }>(task: T, items: Queued[]): T {
  let out = task
  for (const q of items) {
    if (q.task_id !== task.task_id) continue
    switch (q.kind) {
      case 'start':
        if (out.status === 'accepted') out = { ...out, status: 'en_route' }
        break
      case 'check_in':
        out = { ...out, status: 'on_site', check_in_at: out.check_in_at ?? q.at }
        break
      case 'check_out':
        out = { ...out, check_out_at: out.check_out_at ?? q.at }
        break
      case 'complete':
        out = { ...out, status: 'completed' }
        break
      case 'fail':
        out = { ...out, status: 'failed' }
        break
    }
  }
  return out
}
