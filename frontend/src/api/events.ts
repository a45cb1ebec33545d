// The live task stream, GET /api/v1/events (server-sent events, one `task` event per
// task event). EventSource sends the session cookie and, after a dropped connection,
// reconnects by itself with Last-Event-ID, so nothing is missed. It gives up only
// when the server refuses the stream (a 5xx, or a 401 once the session has expired);
// then this opens a new one after a growing pause, resuming from the last id seen.
import { onBeforeUnmount, onMounted, ref } from 'vue'

/** The data of one `task` event. */
export interface TaskStreamEvent {
  id: number
  task_id: number
  task_kind: string
  community_id: number
  senior_id: number
  /** The task's status now. */
  status: string
  /** What happened: `created`, `offered`, `accepted`, `escalated`, `call_120_flagged`... */
  kind: string
  from_status: string | null
  to_status: string | null
  details: Record<string, unknown>
  at: string
}

export type StreamState = 'connecting' | 'open' | 'offline'

const REOPEN_MS = 5000
const REOPEN_MAX_MS = 60_000

/**
 * Subscribes while the component is mounted. `onFresh` runs when the stream opens
 * without a position to resume from (the first time, or after a refused stream with
 * nothing seen yet): events before that moment were not streamed, so reload.
 */
export function useTaskStream(onEvent: (e: TaskStreamEvent) => void, onFresh?: () => void) {
  const state = ref<StreamState>('connecting')
  let source: EventSource | null = null
  let lastId: number | null = null
  let reopen: ReturnType<typeof setTimeout> | undefined
  let delay = REOPEN_MS
  let stopped = false

  function open() {
    clearTimeout(reopen)
    source?.close()
    const resumeFrom = lastId
    state.value = 'connecting'
    source = new EventSource(resumeFrom === null ? '/api/v1/events' : `/api/v1/events?last_event_id=${resumeFrom}`)
    let fresh = resumeFrom === null
    source.onopen = () => {
      state.value = 'open'
      delay = REOPEN_MS
      if (fresh) onFresh?.()
      // The browser's own reconnects resume with Last-Event-ID.
      fresh = false
    }
    source.addEventListener('task', (m) => {
      const id = Number((m as MessageEvent).lastEventId)
      if (Number.isFinite(id)) lastId = id
      let data: TaskStreamEvent
      try {
        data = JSON.parse((m as MessageEvent).data) as TaskStreamEvent
      } catch {
        return
      }
      onEvent(data)
    })
    source.onerror = () => {
      if (stopped) return
      if (source?.readyState === EventSource.CLOSED) {
        state.value = 'offline'
        // Refused again and again (an expired session): ask less often.
        reopen = setTimeout(open, delay)
        delay = Math.min(delay * 2, REOPEN_MAX_MS)
      } else {
        state.value = 'connecting'
      }
    }
  }

  onMounted(open)
  onBeforeUnmount(() => {
    stopped = true
    clearTimeout(reopen)
    source?.close()
    source = null
  })

  return { state }
}
