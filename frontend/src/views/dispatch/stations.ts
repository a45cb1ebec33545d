// The canteens, service stations and day-care centres of the user's communities
// (all of them for admins), loaded once per user.
import { computed, ref } from 'vue'
import { api, unwrap, type Station } from '../../api/client'
import { me } from '../../session'

const list = ref<Station[]>([])
let loadedFor: number | null = null
let pending: Promise<Station[]> | null = null

export function useStations() {
  async function load(): Promise<Station[]> {
    const user = me.value?.id ?? null
    if (user !== null && loadedFor === user) return list.value
    pending ??= api
      .GET('/api/v1/stations')
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
  /** Only canteens cook and send out meals. */
  const canteens = computed(() => list.value.filter((s) => s.kind === 'canteen'))
  return { stations: list, canteens, load }
}
