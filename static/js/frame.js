// Decodes the server's binary frame; the layout is documented in webapp/frames.py.
const HEADER_BYTES = 12;
const CLASSES = 10;
const INPUT_PIXELS = 28 * 28;
const LAYER_HEADER_BYTES = 16;

export function decodeFrame(buffer) {
  const view = new DataView(buffer);
  const magic = String.fromCharCode(...new Uint8Array(buffer, 0, 4));
  if (magic !== "CNNF" || view.getUint8(4) !== 1) throw new Error("not a version-1 CNN frame");
  const count = view.getUint8(5);
  const digit = view.getInt8(6);
  const seq = view.getUint32(8, true);
  let offset = HEADER_BYTES;
  const probabilities = new Float32Array(buffer, offset, CLASSES);
  offset += 4 * CLASSES;
  const image = new Uint8Array(buffer, offset, INPUT_PIXELS);
  offset += INPUT_PIXELS;
  const layers = [];
  for (let i = 0; i < count; i++) {
    const nameBytes = new Uint8Array(buffer, offset, 8);
    const name = String.fromCharCode(...nameBytes.filter((b) => b !== 0));
    const height = view.getUint16(offset + 8, true);
    const width = view.getUint16(offset + 10, true);
    const maps = view.getUint16(offset + 12, true);
    offset += LAYER_HEADER_BYTES;
    const min = new Float32Array(buffer, offset, maps);
    const max = new Float32Array(buffer, offset + 4 * maps, maps);
    offset += 8 * maps;
    const size = maps * height * width;
    const values = new Uint8Array(buffer, offset, size);
    offset += size + ((4 - (size % 4)) % 4);
    layers.push({ name, height, width, maps, min, max, values });
  }
  return { seq, digit: digit < 0 ? null : digit, probabilities, image, layers };
}

// The true value of byte `q` of map `m`: the bytes span each map's own min..max.
export function trueValue(layer, m, q) {
  return layer.min[m] + (q / 255) * (layer.max[m] - layer.min[m]);
}
