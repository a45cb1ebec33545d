// The app's icons, drawn from the favicon: `npm run gen:icons` writes the PNGs into
// public/ (they are committed, so a build needs no image tools). The maskable and
// Apple icons get a full green square, since the launcher or iOS rounds the corners.
import { defineConfig } from '@vite-pwa/assets-generator/config'

const green = { background: '#1f6f5c', fit: 'contain' } as const

export default defineConfig({
  headLinkOptions: { preset: '2023' },
  preset: {
    transparent: { sizes: [192, 512], favicons: [] },
    maskable: { sizes: [512], padding: 0.1, resizeOptions: green },
    apple: { sizes: [180], padding: 0.1, resizeOptions: green },
  },
  images: ['public/favicon.svg'],
})
