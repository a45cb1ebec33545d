// What the phone keeps on the device, shared by the page and the service worker: one
// small IndexedDB store (through idb-keyval) and one Cache Storage cache. Nothing
// else is stored, so logging out can forget all of it in one place.
import { createStore } from 'idb-keyval'

/** Keys: `queue` (actions waiting to sync), `push` (this browser's subscription), `locale`. */
export const store = createStore('linli-offline', 'kv')

/** The worker's network-first copies of the API answers below. */
export const API_CACHE = 'linli-api'

/**
 * The only answers kept for offline use: who is logged in (name and role, so the app
 * opens offline) and the responder's own offers and tasks (what they need at the
 * door). Not the responder profile (home, licence) and nothing about seniors beyond
 * the task list itself.
 */
export const CACHED_API_PATHS = ['/api/v1/auth/me', '/api/v1/me/tasks', '/api/v1/me/offers', '/api/v1/me/route-sheet', '/api/v1/me/timebank', '/api/v1/me/surveys']

/** Set on the cached copy when it is stored, so the page can tell "from the cache, as of then". */
export const STORED_AT_HEADER = 'x-linli-stored-at'

/** This browser's push subscription as the server knows it. */
export interface PushRecord {
  id: number
  endpoint: string
  user_id: number
}
