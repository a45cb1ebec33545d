// The service worker. It keeps the built app (so /app opens without a signal),
// answers the responder's two lists from the network when it can and from the last
// copy when it cannot, and turns pushes into notifications: an offer can be accepted
// or declined from the notification itself, and tapping one opens its task.
import { clientsClaim } from 'workbox-core'
import type { WorkboxPlugin } from 'workbox-core'
import { cleanupOutdatedCaches, createHandlerBoundToURL, precacheAndRoute } from 'workbox-precaching'
import { NavigationRoute, registerRoute } from 'workbox-routing'
import { NetworkFirst } from 'workbox-strategies'
import { get } from 'idb-keyval'
import { API_CACHE, CACHED_API_PATHS, STORED_AT_HEADER, store } from './offline/store'
import { savedPush, subscribe, unsubscribe, vapidKey } from './offline/push'
import { NOTIFICATIONS } from './i18n/notifications'

declare let self: ServiceWorkerGlobalScope

// A new build takes over at once; the page reloads into it (registerSW, autoUpdate).
self.skipWaiting()
clientsClaim()

precacheAndRoute(self.__WB_MANIFEST)
cleanupOutdatedCaches()

// Every page of the app is the same index.html, so any of them opens offline.
registerRoute(new NavigationRoute(createHandlerBoundToURL('/index.html'), { denylist: [/^\/api\//, /^\/healthz/, /^\/metrics/] }))

/** Only the phone app opens offline; the consoles need the server anyway. */
const OFFLINE_ROLES = ['caregiver', 'volunteer']

/**
 * Bumped when the page logs out (or in): an answer to a request made before that (a
 * poll still on its way) must not put the lists back after they were deleted.
 */
let generation = 0

const apiCache: WorkboxPlugin = {
  requestWillFetch: async ({ request, state }) => {
    if (state) state.generation = generation
    return request
  },
  // Keep good answers only, stamped with when they were stored.
  cacheWillUpdate: async ({ request, response, state }) => {
    if (response.status !== 200 || state?.generation !== generation) return null
    const body = await response.blob()
    if (new URL(request.url).pathname === '/api/v1/auth/me') {
      let role = ''
      try {
        role = (JSON.parse(await body.text()) as { role?: string }).role ?? ''
      } catch {
        return null
      }
      if (!OFFLINE_ROLES.includes(role)) return null
    }
    const headers = new Headers(response.headers)
    headers.set(STORED_AT_HEADER, new Date().toISOString())
    return new Response(body, { status: 200, statusText: response.statusText, headers })
  },
  // The session is gone (expired, or logged out elsewhere): the copies belong to nobody.
  fetchDidSucceed: async ({ response }) => {
    if (response.status === 401) await caches.delete(API_CACHE)
    return response
  },
}

registerRoute(
  ({ url, request, sameOrigin }) => sameOrigin && request.method === 'GET' && CACHED_API_PATHS.includes(url.pathname),
  // A poor signal is worse than none: after a few seconds show the last copy instead.
  new NetworkFirst({ cacheName: API_CACHE, networkTimeoutSeconds: 6, plugins: [apiCache] }),
)

// The page logged out: forget the copies, including any still on their way.
self.addEventListener('message', (event) => {
  if ((event.data as { type?: string } | null)?.type !== 'forget') return
  generation++
  event.waitUntil(caches.delete(API_CACHE).then(() => event.ports[0]?.postMessage('forgotten')))
})

// ---- Push

/**
 * What the server pushes: a type, for tasks their id and kind (an offer also its
 * distance, a withdrawal its reason: taken, reassigned or cancelled), and a short
 * Chinese `text`, shown only for types this worker does not know.
 */
interface Push {
  type: string
  task_id?: number
  kind?: string
  distance_m?: number
  reason?: string
  text?: string
  date?: string
  meals?: number
}

/** Notification options Chrome and Firefox take beyond the typed ones. */
type ShowOptions = NotificationOptions & { actions?: { action: string; title: string }[]; renotify?: boolean; timestamp?: number }

async function words() {
  const locale = await get<string>('locale', store).catch(() => undefined)
  return NOTIFICATIONS[locale === 'en' ? 'en' : 'zh-CN']
}

function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (_, k: string) => values[k] ?? '')
}

function parse(data: PushMessageData | null): Push {
  try {
    const p = data?.json() as Partial<Push> | undefined
    if (p && typeof p.type === 'string') return p as Push
  } catch {
    // Not JSON: show the text as it came.
  }
  return { type: 'other', text: data?.text() ?? undefined }
}

const ICON = '/pwa-192x192.png'

async function show(p: Push): Promise<void> {
  const w = await words()
  const tag = p.task_id ? `task-${p.task_id}` : undefined
  const data = { type: p.type, task_id: p.task_id ?? null }
  const kind = p.kind ? ((w.kinds as Record<string, string>)[p.kind] ?? p.kind) : w.task
  const far =
    typeof p.distance_m === 'number'
      ? p.distance_m < 1000
        ? fill(w.metres, { n: String(Math.round(p.distance_m)) })
        : fill(w.kilometres, { n: (p.distance_m / 1000).toFixed(1) })
      : ''
  const base: ShowOptions = { tag, data, icon: ICON, badge: ICON, lang: w === NOTIFICATIONS.en ? 'en' : 'zh-CN', timestamp: Date.now() }
  switch (p.type) {
    case 'offer':
      return self.registration.showNotification(fill(w.offerTitle, { kind }), {
        ...base,
        body: far ? fill(w.offerDistance, { d: far }) : w.offerBody,
        actions: [
          { action: 'accept', title: w.accept },
          { action: 'decline', title: w.decline },
        ],
        renotify: true,
        requireInteraction: p.kind === 'emergency',
      } as ShowOptions)
    case 'offer_withdrawn': {
      // Replace the offer if it is still on screen; if it was dismissed, say nothing.
      const open = tag ? await self.registration.getNotifications({ tag }) : []
      if (!open.length) return
      const body = p.reason === 'cancelled' ? w.withdrawn : w.taken
      return self.registration.showNotification(open[0].title, { ...base, body, silent: true } as ShowOptions)
    }
    case 'assigned':
      return self.registration.showNotification(w.assigned, { ...base, body: fill(w.assignedBody, { kind }), renotify: true } as ShowOptions)
    case 'route_sheet':
      return self.registration.showNotification(w.routeSheet, {
        ...base,
        tag: `route-${p.date ?? ''}`,
        body: fill(w.routeSheetBody, { date: (p.date ?? '').slice(5), n: String(p.meals ?? '') }),
      } as ShowOptions)
    case 'alarm':
      return self.registration.showNotification(w.alarm, { ...base, body: kind, renotify: true, requireInteraction: true } as ShowOptions)
    default:
      return self.registration.showNotification(w.other, { ...base, body: p.text ?? '' } as ShowOptions)
  }
}

/** An open app refreshes its lists at once instead of at its next poll. */
async function tellPages(p: Push): Promise<void> {
  const windows = await self.clients.matchAll({ type: 'window' })
  for (const c of windows) c.postMessage({ type: 'push', push: { type: p.type, task_id: p.task_id ?? null } })
}

self.addEventListener('push', (event) => {
  const p = parse(event.data)
  event.waitUntil(Promise.all([show(p), tellPages(p)]))
})

/** Opens the app at the task (or a tab): the open window if there is one, else a new one. */
async function openApp(taskId: number | null, tab?: string): Promise<void> {
  const url = taskId ? `/app?task=${taskId}` : tab ? `/app?tab=${tab}` : '/app'
  const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true })
  const app = windows.find((c) => new URL(c.url).pathname.startsWith('/app'))
  if (app) {
    await app.focus()
    app.postMessage(tab && !taskId ? { type: 'open-tab', tab } : { type: 'open-task', task_id: taskId })
    return
  }
  const other = windows[0]
  if (other) {
    const moved = await other.navigate(url).catch(() => null)
    await (moved ?? other).focus()
    return
  }
  await self.clients.openWindow(url)
}

/** Accepts or declines an offer; the session cookie goes along, as from the page. */
async function answer(taskId: number, which: 'accept' | 'decline'): Promise<'ok' | 'taken' | 'gone' | 'failed'> {
  try {
    const r = await fetch(`/api/v1/tasks/${taskId}/${which}`, { method: 'POST', credentials: 'include' })
    if (r.ok) return 'ok'
    if (r.status === 409) return 'taken'
    if (r.status === 404) return 'gone'
    return 'failed'
  } catch {
    return 'failed'
  }
}

async function onClick(action: string, type: string, taskId: number | null): Promise<void> {
  if (type === 'route_sheet') return openApp(null, 'round')
  if (type !== 'offer' || !taskId || (action !== 'accept' && action !== 'decline')) return openApp(taskId)
  const result = await answer(taskId, action)
  if (action === 'decline' && result !== 'failed') return
  const w = await words()
  const tag = `task-${taskId}`
  if (result === 'taken' || result === 'gone') {
    await self.registration.showNotification(w.offer, { tag, body: result === 'taken' ? w.taken : w.withdrawn, icon: ICON, silent: true, data: { type: 'offer_withdrawn', task_id: taskId } })
    return
  }
  if (result === 'failed') {
    await self.registration.showNotification(w.offer, { tag, body: w.acceptFailed, icon: ICON, data: { type: 'offer', task_id: taskId } })
  }
  // Accepted (or not, and the app is the place to try again): go to the task.
  await openApp(taskId)
}

self.addEventListener('notificationclick', (event) => {
  const n = event.notification
  const data = (n.data ?? {}) as { type?: string; task_id?: number | null }
  n.close()
  event.waitUntil(onClick(event.action, data.type ?? '', data.task_id ?? null))
})

// The browser renewed the subscription (keys rotated, or it expired): register the
// new one under the same user, so notifications keep coming without opening the app.
self.addEventListener('pushsubscriptionchange', (event) => {
  const renew = async () => {
    const saved = await savedPush()
    const key = saved ? await vapidKey() : null
    if (!saved || !key) return
    // The old subscription is gone; the server's record of it goes too.
    await unsubscribe(undefined)
    await subscribe(self.registration, key, saved.user_id)
  }
  ;(event as ExtendableEvent).waitUntil(renew().catch(() => undefined))
})
