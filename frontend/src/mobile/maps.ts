// Links that open a map app at a home. Positions are stored as WGS-84 (what phones
// report); AMap (高德), the map app most phones here carry, is told so and converts
// to its own datum. The `geo:` URI lets any other map app on the phone take it. Only
// the position leaves the app: no name, no address.

export function amapLink(latitude: number, longitude: number): string {
  const position = `${longitude.toFixed(6)},${latitude.toFixed(6)}`
  return `https://uri.amap.com/marker?position=${position}&coordinate=wgs84&callnative=1`
}

export function geoLink(latitude: number, longitude: number): string {
  const at = `${latitude.toFixed(6)},${longitude.toFixed(6)}`
  return `geo:${at}?q=${at}`
}
