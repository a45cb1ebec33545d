// The console's alarm tone: two short beeps made with Web Audio (no sound file to
// load, works offline). Whether it sounds is the worker's choice, kept in this
// browser. Browsers start audio only after the user has interacted with the page;
// until then the tone is skipped silently and the card still appears.
import { ref, watch } from 'vue'

const STORAGE_KEY = 'linli.alarmSound'

export const soundEnabled = ref(localStorage.getItem(STORAGE_KEY) !== 'off')
watch(soundEnabled, (on) => localStorage.setItem(STORAGE_KEY, on ? 'on' : 'off'))

let context: AudioContext | null = null

export function chime(): void {
  try {
    context ??= new AudioContext()
    if (context.state === 'suspended') void context.resume()
    const start = context.currentTime
    for (const offset of [0, 0.35]) {
      const tone = context.createOscillator()
      const gain = context.createGain()
      tone.type = 'square'
      tone.frequency.value = 880
      gain.gain.setValueAtTime(0.0001, start + offset)
      gain.gain.exponentialRampToValueAtTime(0.25, start + offset + 0.02)
      gain.gain.exponentialRampToValueAtTime(0.0001, start + offset + 0.25)
      tone.connect(gain).connect(context.destination)
      tone.start(start + offset)
      tone.stop(start + offset + 0.3)
    }
  } catch {
    // No audio device or not allowed yet: the card is still shown.
  }
}
