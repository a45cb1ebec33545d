// The communities the logged-in user may see, loaded once per user.
import { ref } from 'vue'
import { api, unwrap, type Community } from '../../api/client'
import { me } from '../../session'

const list = ref<Community[]>([])
let loadedFor: number | null = null
let pending: Promise<Community[]> | null = null

export function useCommunities() {
  async function load(): Promise<Community[]> {
    const user = me.value?.id ?? null
    if (user !== null && loadedFor === user) return list.value
    pending ??= api
      .GET('/api/v1/communities')
      .then((r) => {
        list.value = unwrap(r) ?? []
        loadedFor = user
        return list.value
      })
      .finally(() => {
        pending = null
      })
    return pending
  }
  function nameOf(id: number): string {
    return list.value.find((c) => c.id === id)?.name ?? `#${id}`
  }
  return { communities: list, load, nameOf }
}

/** A point inside a community, to start the coordinates from: its boundary's centroid. */
export function centreOf(c: Community): { latitude: number; longitude: number } | null {
  const geometry = c.boundary as { type?: string; coordinates?: unknown }
  let ring: number[][] | undefined
  if (geometry.type === 'Polygon') ring = (geometry.coordinates as number[][][])[0]
  else if (geometry.type === 'MultiPolygon') ring = (geometry.coordinates as number[][][][])[0]?.[0]
  if (!ring?.length) return null
  // Area-weighted centroid of the outer ring (lng, lat pairs).
  let a = 0
  let x = 0
  let y = 0
  for (let i = 0; i < ring.length - 1; i++) {
    const [x0, y0] = ring[i]
    const [x1, y1] = ring[i + 1]
    const f = x0 * y1 - x1 * y0
    a += f
    x += (x0 + x1) * f
    y += (y0 + y1) * f
  }
  if (Math.abs(a) < 1e-12) {
    const n = ring.length
    return { longitude: ring.reduce((s, p) => s + p[0], 0) / n, latitude: ring.reduce((s, p) => s + p[1], 0) / n }
  }
  const round = (v: number) => Math.round(v * 1e6) / 1e6
  return { longitude: round(x / (3 * a)), latitude: round(y / (3 * a)) }
}
