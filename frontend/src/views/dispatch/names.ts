// Names for the ids the dispatch API sends. Tasks, alarms, offers and candidates carry
// only ids, so seniors are looked up one by one (cached for the session) and
// responders come from the list of the caller's communities, loaded once per user.
import { ref, shallowReactive } from 'vue'
import { api, unwrap, type Responder } from '../../api/client'
import { me } from '../../session'

const seniors = shallowReactive(new Map<number, string>())
const asking = new Set<number>()
const responders = ref<Responder[]>([])
let respondersFor: number | null = null
let pending: Promise<Responder[]> | null = null

export function useNames() {
  /** Fetches the names not known yet; failures leave the id showing. */
  function loadSeniors(ids: number[]): void {
    for (const id of new Set(ids)) {
      if (seniors.has(id) || asking.has(id)) continue
      asking.add(id)
      api
        .GET('/api/v1/seniors/{id}', { params: { path: { id } } })
        .then((r) => {
          if (r.data) seniors.set(id, r.data.name)
        })
        .catch(() => undefined)
        .finally(() => asking.delete(id))
    }
  }

  function seniorName(id: number): string {
    return seniors.get(id) ?? `#${id}`
  }

  async function loadResponders(force = false): Promise<Responder[]> {
    const user = me.value?.id ?? null
    if (!force && user !== null && respondersFor === user) return responders.value
    pending ??= api
      .GET('/api/v1/responders')
      .then((r) => {
        responders.value = unwrap(r) ?? []
        respondersFor = user
        return responders.value
      })
      .finally(() => {
        pending = null
      })
    return pending
  }

  function responder(id: number | null | undefined): Responder | undefined {
    return id === null || id === undefined ? undefined : responders.value.find((r) => r.id === id)
  }

  /** A responder's name; outside the caller's communities only the id is known. */
  function responderName(id: number | null | undefined): string {
    if (id === null || id === undefined) return ''
    return responder(id)?.display_name ?? `#${id}`
  }

  /** The name of the user behind an event, when that user is a responder. */
  function userName(userId: number): string | null {
    return responders.value.find((r) => r.user_id === userId)?.display_name ?? null
  }

  return { responders, loadSeniors, seniorName, loadResponders, responder, responderName, userName }
}
