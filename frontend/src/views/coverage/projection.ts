// Web Mercator for the coverage map: longitude and latitude onto the unit square the
// XYZ tiles are cut from (x eastwards from 180°W, y southwards from 85.05°N), a frame
// that fits points into the SVG view box, and the tiles that cover that frame. The
// drawing needs no tiles; they only add streets when a tile URL is set and online.

const MAX_LAT = 85.0511287798

/** A [longitude, latitude] point on the unit square (both 0..1). */
export function mercator(p: number[]): [number, number] {
  const lat = (Math.max(-MAX_LAT, Math.min(MAX_LAT, p[1])) * Math.PI) / 180
  return [(p[0] + 180) / 360, (1 - Math.log(Math.tan(Math.PI / 4 + lat / 2)) / Math.PI) / 2]
}

/** SVG position = (unit-square position − origin) × scale. */
export interface Frame {
  x0: number
  y0: number
  scale: number
  width: number
  height: number
}

/** The frame showing every point, centred in a `width` × `height` box with `pad` around. */
export function fit(points: number[][], width: number, height: number, pad: number): Frame | null {
  if (!points.length) return null
  const unit = points.map(mercator)
  const xs = unit.map((p) => p[0])
  const ys = unit.map((p) => p[1])
  const [minX, maxX, minY, maxY] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)]
  const scale = Math.min((width - 2 * pad) / Math.max(maxX - minX, 1e-12), (height - 2 * pad) / Math.max(maxY - minY, 1e-12))
  return { x0: (minX + maxX) / 2 - width / 2 / scale, y0: (minY + maxY) / 2 - height / 2 / scale, scale, width, height }
}

export function toSvg(f: Frame, p: number[]): [number, number] {
  const [x, y] = mercator(p)
  return [(x - f.x0) * f.scale, (y - f.y0) * f.scale]
}

/** A ring of [longitude, latitude] points as an SVG path. */
export function ringPath(f: Frame, ring: number[][]): string {
  return ring.map((p, i) => `${i ? 'L' : 'M'}${toSvg(f, p).map((v) => v.toFixed(1)).join(',')}`).join(' ') + 'Z'
}

/** Every ring (outer and holes) of a GeoJSON Polygon or MultiPolygon; none otherwise. */
export function ringsOf(geometry: unknown): number[][][] {
  const g = geometry as { type?: string; coordinates?: unknown } | null
  if (g?.type === 'Polygon') return g.coordinates as number[][][]
  if (g?.type === 'MultiPolygon') return (g.coordinates as number[][][][]).flat()
  return []
}

export interface Tile {
  key: string
  href: string
  x: number
  y: number
  size: number
}

/**
 * The tiles of an XYZ template (`{z}`, `{x}`, `{y}`, optionally `{s}`) covering the
 * frame, at the zoom whose tiles come closest to `tilePx` view-box units across.
 */
export function tiles(template: string, f: Frame, tilePx = 256): Tile[] {
  const z = Math.max(0, Math.min(19, Math.round(Math.log2(f.scale / tilePx))))
  const n = 2 ** z
  const size = f.scale / n
  const range = (from: number, span: number) => [Math.max(0, Math.floor(from * n)), Math.min(n - 1, Math.floor((from + span / f.scale) * n))]
  const [tx0, tx1] = range(f.x0, f.width)
  const [ty0, ty1] = range(f.y0, f.height)
  const out: Tile[] = []
  for (let ty = ty0; ty <= ty1; ty++) {
    for (let tx = tx0; tx <= tx1; tx++) {
      const href = template
        .replace('{z}', String(z))
        .replace('{x}', String(tx))
        .replace('{y}', String(ty))
        .replace('{s}', 'abc'[(tx + ty) % 3])
      out.push({ key: `${z}/${tx}/${ty}`, href, x: (tx / n - f.x0) * f.scale, y: (ty / n - f.y0) * f.scale, size })
    }
  }
  return out
}
