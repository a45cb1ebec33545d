// Who is logged in, shared by the router guard and the layouts.
import { ref } from 'vue'
import { api, unwrap, type Me, type Role } from './api/client'
import { forgetDevice, startSession, stopPush } from './offline/device'

export const me = ref<Me | null>(null)
let loaded = false

/** The server could not say who is logged in (network down or a 5xx answer). */
export class SessionUnavailable extends Error {}

export async function loadMe(): Promise<Me | null> {
  if (loaded) return me.value
  let result
  try {
    result = await api.GET('/api/v1/auth/me')
  } catch (err) {
    throw new SessionUnavailable(String(err))
  }
  // A server error is not "logged out": say so instead of sending the user to /login.
  if (result.response.status >= 500) throw new SessionUnavailable(`HTTP ${result.response.status}`)
  me.value = result.response.ok ? (result.data ?? null) : null
  loaded = true
  return me.value
}

export async function login(username: string, password: string): Promise<Me> {
  const body = unwrap(await api.POST('/api/v1/auth/login', { body: { username, password } }))
  await startSession(body.user.id)
  me.value = body.user
  loaded = true
  return body.user
}

/**
 * Ends the session and forgets what this device kept for the user: pushes, the
 * cached lists, queued actions. Without a network it throws and forgets nothing,
 * since the session itself would still be open.
 */
export async function logout(): Promise<void> {
  // The server drops the push subscription only while the session is still valid.
  await stopPush()
  await api.POST('/api/v1/auth/logout')
  await forgetDevice()
  me.value = null
  loaded = true
}

/** Each role's own area of the app. */
export function homeOf(role: Role): string {
  switch (role) {
    case 'admin':
      return '/admin'
    case 'bureau':
      return '/bureau'
    case 'worker':
      return '/console'
    case 'caregiver':
    case 'volunteer':
      return '/app'
    default:
      return '/login'
  }
}
