// Web push for the responder's phone, used by the page (the switch, logging out) and
// by the service worker (a subscription the browser renewed).
import { del, get, set } from 'idb-keyval'
import { api, unwrap } from '../api/client'
import { store, type PushRecord } from './store'

/** The browser can receive pushes at all (Safari only once installed to the home screen). */
export function pushSupported(): boolean {
  return typeof self !== 'undefined' && 'PushManager' in self && 'Notification' in self && 'serviceWorker' in navigator
}

/** The server's VAPID key, or null when it does not push (404 before push existed, 503 when not set up). */
export async function vapidKey(): Promise<string | null> {
  const r = await api.GET('/api/v1/push/vapid-public-key')
  const status: number = r.response.status
  if (status === 404 || status === 503) return null
  return unwrap(r).public_key || null
}

/** base64url (no padding) to the bytes `applicationServerKey` wants. */
export function keyBytes(base64url: string): Uint8Array<ArrayBuffer> {
  const base64 = base64url.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (base64url.length % 4)) % 4)
  const raw = atob(base64)
  const out = new Uint8Array(new ArrayBuffer(raw.length))
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i)
  return out
}

function sameBytes(a: ArrayBuffer | null, b: Uint8Array): boolean {
  if (!a || a.byteLength !== b.length) return false
  const x = new Uint8Array(a)
  return x.every((v, i) => v === b[i])
}

export function savedPush(): Promise<PushRecord | undefined> {
  return get<PushRecord>('push', store)
}

/** Subscribes this browser with the server's key and tells the server where to push. */
export async function subscribe(registration: ServiceWorkerRegistration, key: string, userId: number): Promise<PushRecord> {
  const bytes = keyBytes(key)
  // A subscription made with an older key cannot be reused: the browser refuses to resubscribe.
  const old = await registration.pushManager.getSubscription()
  if (old && !sameBytes(old.options.applicationServerKey, bytes)) await old.unsubscribe()
  const subscription = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: bytes })
  const json = subscription.toJSON()
  let id: number
  try {
    const body = {
      endpoint: subscription.endpoint,
      expirationTime: json.expirationTime ?? null,
      keys: { p256dh: json.keys?.p256dh ?? '', auth: json.keys?.auth ?? '' },
    }
    id = unwrap(await api.POST('/api/v1/push/subscriptions', { body })).id
  } catch (e) {
    // The server will not push here: do not leave a subscription nobody uses.
    await subscription.unsubscribe().catch(() => undefined)
    throw e
  }
  const record = { id, endpoint: subscription.endpoint, user_id: userId }
  await set('push', record, store)
  return record
}

/**
 * Stops pushes to this browser: the server forgets the subscription (best effort: the
 * server also drops it with the session, and at its next failed delivery), the
 * browser drops it, and so does this store.
 */
export async function unsubscribe(registration: ServiceWorkerRegistration | undefined): Promise<void> {
  const saved = await savedPush()
  if (saved) await api.DELETE('/api/v1/push/subscriptions/{id}', { params: { path: { id: saved.id } } }).catch(() => undefined)
  const subscription = await registration?.pushManager.getSubscription()
  await subscription?.unsubscribe().catch(() => undefined)
  await del('push', store)
}
