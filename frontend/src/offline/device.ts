// The app's side of the service worker: registering it, telling it the user's
// language, and forgetting everything kept on this device when someone logs out.
import { watch } from 'vue'
import { registerSW } from 'virtual:pwa-register'
import { set } from 'idb-keyval'
import { i18n } from '../i18n'
import { API_CACHE, store } from './store'
import { clearQueue, keepOnly } from './queue'
import { unsubscribe } from './push'

export function startWorker(): void {
  if (!('serviceWorker' in navigator)) return
  // `autoUpdate`: a new build's worker takes over at once and the page reloads into it,
  // so an old page never asks for chunks a new deploy has removed.
  registerSW({ immediate: true })
  // Notifications are worded in the language the user chose here.
  watch(i18n.global.locale, (locale) => void set('locale', locale, store).catch(() => undefined), { immediate: true })
}

/** The worker's registration, if there is one (none in development or in old browsers). */
export async function registration(): Promise<ServiceWorkerRegistration | undefined> {
  if (!('serviceWorker' in navigator)) return undefined
  return navigator.serviceWorker.getRegistration('/')
}

/**
 * Opening the app offline needs the worker's copy of who is logged in, but the app
 * asked the server before logging in, or before the worker was there: ask once more
 * through the worker if it has no copy.
 */
export async function keepSessionCopy(): Promise<void> {
  if (!('serviceWorker' in navigator) || !('caches' in window)) return
  if (await caches.match('/api/v1/auth/me', { cacheName: API_CACHE })) return
  const ask = () => void fetch('/api/v1/auth/me', { credentials: 'same-origin' }).catch(() => undefined)
  if (navigator.serviceWorker.controller) ask()
  else navigator.serviceWorker.addEventListener('controllerchange', ask, { once: true })
}

/**
 * Deletes the worker's copies. The worker is told first, so that an answer still on
 * its way is not stored after the deletion; it confirms (or a second passes).
 */
async function dropApiCache(): Promise<void> {
  const worker = 'serviceWorker' in navigator ? navigator.serviceWorker.controller : null
  if (worker) {
    const channel = new MessageChannel()
    const confirmed = new Promise<void>((resolve) => {
      channel.port1.onmessage = () => resolve()
      setTimeout(resolve, 1000)
    })
    worker.postMessage({ type: 'forget' }, [channel.port2])
    await confirmed
  }
  if ('caches' in window) await caches.delete(API_CACHE)
}

/** A new login: answers cached for whoever was here before are not this user's. */
export async function startSession(userId: number): Promise<void> {
  await Promise.all([dropApiCache(), keepOnly(userId)]).catch(() => undefined)
}

/** Stops pushes to this browser; needs the session, so it runs before logging out. */
export async function stopPush(): Promise<void> {
  await unsubscribe(await registration()).catch(() => undefined)
}

/** After logging out: the cached lists and anything still queued go. */
export async function forgetDevice(): Promise<void> {
  await Promise.all([dropApiCache(), clearQueue()]).catch(() => undefined)
}
