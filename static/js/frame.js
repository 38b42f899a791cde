// Decodes the server's binary frame; the layout is documented in webapp/frames.py.
const HEADER_BYTES = 12;
const CLASSES = 10;
const INPUT_PIXELS = 28 * 28;
const LAYER_HEADER_BYTES = 16;

export function decodeFrame(buffer) {
  const view = new DataView(buffer);
  const magic = String.fromCharCode(...new Uint8Array(buffer, 0, 4));
  if (magic !== "CNNF" || view.getUint8(4) !== 3) throw new Error("not a version-3 CNN frame");
  const count = view.getUint8(5);
  const digit = view.getInt8(6);
  const seq = view.getUint32(8, true);
  let offset = HEADER_BYTES;
  const probabilities = new Float32Array(buffer, offset, CLASSES);
  offset += 4 * CLASSES;
  const image = new Float32Array(buffer, offset, INPUT_PIXELS); // exact, 0..1
  offset += 4 * INPUT_PIXELS;
  const table = [];
  for (let i = 0; i < count; i++, offset += LAYER_HEADER_BYTES) {
    const name = String.fromCharCode(...new Uint8Array(buffer, offset, 8).filter((b) => b !== 0));
    table.push({ name, height: view.getUint16(offset + 8, true), width: view.getUint16(offset + 10, true), maps: view.getUint16(offset + 12, true) });
  }
  const totalMaps = table.reduce((sum, t) => sum + t.maps, 0);
  const mins = new Float32Array(buffer, offset, totalMaps);
  const maxs = new Float32Array(buffer, offset + 4 * totalMaps, totalMaps);
  offset += 8 * totalMaps;
  let first = 0;
  const layers = table.map((t) => {
    const size = t.maps * t.height * t.width;
    const layer = { ...t, min: mins.subarray(first, first + t.maps), max: maxs.subarray(first, first + t.maps), values: new Uint8Array(buffer, offset, size) };
    first += t.maps;
    offset += size;
    return layer;
  });
  return { seq, digit: digit < 0 ? null : digit, probabilities, image, layers };
}

// The true value of byte `q` of map `m`: the bytes span each map's own min..max.
export function trueValue(layer, m, q) {
  return layer.min[m] + (q / 255) * (layer.max[m] - layer.min[m]);
}
