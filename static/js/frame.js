// Decodes the server's binary frame; the layout is documented in webapp/frames.py.
// Only some layers come with their values; the others (conv layers from the exact input and
// their own filters, batch normalisation of a layer worked out from the input, ReLU and max
// pooling of a layer before them) are worked out here,
// once, when `frame.layers` is first read. The page runs this in its paint worker
// (paint-worker.js), which only gets the newest frame when it is busy. Every layer then looks alike: {name, height, width, maps, min, max, values}, the
// values 0..255 over each map's own min..max.
const HEADER_BYTES = 12;
const CLASSES = 10;
const INPUT_SIDE = 28;
const INPUT_PIXELS = INPUT_SIDE * INPUT_SIDE;
const LAYER_HEADER_BYTES = 20;
const VERSION = 6;
export const SENT = 0, RELU = 1, MAXPOOL = 2, CONV = 3, BATCHNORM = 4;
const INPUT = 255;

// conv layer name → { height, width, values: [filter][height * width], bias: [filter] }: a
// filter as an image, its size x size weights for input map c in block c of a grid of
// width / size blocks a row (webapp/views.py `kernels`).
let weights = {};
// batchnorm layer name (the frame's) → { scale: [map], shift: [map] }, float32 values.
let affine = {};

// The conv filters and batchnorm scales and shifts the page has, exact (Math.fround of
// network.json's shortest decimals: network.js `loadNetwork`): the layers are computed from
// the input with them. Called once, before any frame is decoded.
export function useWeights(kernels, batchnorm) {
  weights = kernels || {};
  affine = batchnorm || {};
}

// Whether drawing state `a` is newer than `b`: sequence numbers wrap at 2^32.
export const isNewer = (a, b) => ((a - b) | 0) > 0;

// The drawing state a frame answers, read without decoding the rest (connection.js acts on
// it; the paint worker decodes the frame).
export function frameSeq(buffer) {
  return new DataView(buffer).getUint32(8, true);
}

export function decodeFrame(buffer) {
  const view = new DataView(buffer);
  const magic = String.fromCharCode(...new Uint8Array(buffer, 0, 4));
  if (magic !== "CNNF" || view.getUint8(4) !== VERSION) throw new Error(`not a version-${VERSION} CNN frame`);
  const count = view.getUint8(5);
  const digit = view.getInt8(6);
  const unlike = (view.getUint8(7) & 1) === 1; // flags bit 0: unlike the training digits
  const seq = view.getUint32(8, true);
  let offset = HEADER_BYTES;
  const probabilities = new Float32Array(buffer, offset, CLASSES);
  offset += 4 * CLASSES;
  const logits = new Float32Array(buffer, offset, CLASSES); // exact: the softmax's own inputs
  offset += 4 * CLASSES;
  const image = new Float32Array(buffer, offset, INPUT_PIXELS); // exact, 0..1
  offset += 4 * INPUT_PIXELS;
  const table = [];
  for (let i = 0; i < count; i++, offset += LAYER_HEADER_BYTES) {
    const name = String.fromCharCode(...new Uint8Array(buffer, offset, 8).filter((b) => b !== 0));
    table.push({
      name,
      height: view.getUint16(offset + 8, true),
      width: view.getUint16(offset + 10, true),
      maps: view.getUint16(offset + 12, true),
      how: view.getUint8(offset + 14),
      source: view.getUint8(offset + 15),
      size: view.getUint8(offset + 16),
      stride: view.getUint8(offset + 17),
      pad: view.getUint8(offset + 18),
    });
  }
  const sentMaps = table.reduce((sum, t) => sum + (t.how === SENT ? t.maps : 0), 0);
  const mins = new Float32Array(buffer, offset, sentMaps);
  const maxs = new Float32Array(buffer, offset + 4 * sentMaps, sentMaps);
  offset += 8 * sentMaps;
  let first = 0;
  for (const t of table) {
    if (t.how !== SENT) continue;
    const size = t.maps * t.height * t.width;
    t.min = mins.subarray(first, first + t.maps);
    t.max = maxs.subarray(first, first + t.maps);
    t.values = new Uint8Array(buffer, offset, size);
    first += t.maps;
    offset += size;
  }
  const frame = { seq, digit: digit < 0 ? null : digit, unlike, probabilities, logits, image };
  Object.defineProperty(frame, "layers", {
    configurable: true,
    enumerable: true,
    get() {
      const layers = derive(table, image);
      Object.defineProperty(frame, "layers", { value: layers, enumerable: true });
      return layers;
    },
  });
  return frame;
}

// The true value of byte `q` of map `m`: the bytes span each map's own min..max.
export function trueValue(layer, m, q) {
  return layer.min[m] + (q / 255) * (layer.max[m] - layer.min[m]);
}

// Every layer of the table, in its order: sent ones as they came, the others computed in
// float64 from their source's float values (a sent source's true values; a derived source's
// values before rounding), then rounded to 0..255 over each map's own min..max as the
// server rounds (half up), min and max kept as float32.
function derive(table, image) {
  const exact = []; // per layer: Float64Array of every map's float values, map after map
  return table.map((t, i) => {
    const { name, height, width, maps, how, source, size, stride, pad } = t;
    const layer = { name, height, width, maps };
    if (how === SENT) {
      Object.assign(layer, { min: t.min, max: t.max, values: t.values });
      // Float values only for a layer something is derived from.
      exact.push(table.some((d, j) => j > i && d.how !== SENT && d.how !== CONV && d.source === i) ? trueValues(layer) : null);
      return layer;
    }
    const area = height * width;
    let values;
    if (how === CONV) {
      const kernel = weights[name];
      if (!kernel) throw new Error(`${name}: computed here, but its filters are unknown`);
      const input = source === INPUT
        ? { values: image, maps: 1, height: INPUT_SIDE, width: INPUT_SIDE }
        : { values: exact[source], maps: table[source].maps, height: table[source].height, width: table[source].width };
      values = conv(input, kernel, maps, height, width, size, stride, pad);
    } else if (how === BATCHNORM) {
      const bn = affine[name];
      if (!bn) throw new Error(`${name}: computed here, but its batch normalisation is unknown`);
      values = batchnorm(exact[source], bn, maps, area);
    } else if (how === RELU) {
      values = relu(exact[source]);
    } else if (how === MAXPOOL) {
      const from = table[source];
      values = maxpool(exact[source], maps, from.height, from.width, height, width, size, stride);
    } else {
      throw new Error(`${name}: unknown derivation ${how}`);
    }
    exact.push(values);
    layer.min = new Float32Array(maps);
    layer.max = new Float32Array(maps);
    layer.values = new Uint8Array(maps * area);
    for (let m = 0; m < maps; m++) quantize(values, m * area, area, layer, m);
    return layer;
  });
}

function trueValues(layer) {
  const area = layer.height * layer.width;
  const out = new Float64Array(layer.maps * area);
  for (let m = 0; m < layer.maps; m++) {
    const lo = layer.min[m], span = layer.max[m] - layer.min[m];
    for (let i = m * area; i < (m + 1) * area; i++) out[i] = lo + (layer.values[i] / 255) * span;
  }
  return out;
}

// Each filter over every input map: bias, then the taps input map by input map, row by row
// (each output sums in that order, as frame_decode.decode does); taps past the input's edges see
// zeros, which add nothing.
function conv(input, kernel, maps, height, width, size, stride, pad) {
  const area = height * width, inArea = input.height * input.width;
  const blocks = kernel.width / size; // input map c's weights: block row c / blocks, column c % blocks
  const src = input.values, out = new Float64Array(maps * area);
  for (let f = 0; f < maps; f++) {
    const w = kernel.values[f];
    out.fill(kernel.bias[f], f * area, (f + 1) * area);
    for (let ch = 0; ch < input.maps; ch++) {
      const top = Math.floor(ch / blocks) * size, left = (ch % blocks) * size;
      for (let dy = 0; dy < size; dy++) {
        for (let dx = 0; dx < size; dx++) {
          const weight = w[(top + dy) * kernel.width + left + dx];
          // the columns whose tap falls inside the input: 0 <= c * stride + dx - pad < width
          const first = Math.max(0, Math.ceil((pad - dx) / stride));
          const last = Math.min(width, Math.ceil((input.width + pad - dx) / stride));
          for (let r = 0; r < height; r++) {
            const y = r * stride + dy - pad;
            if (y < 0 || y >= input.height) continue;
            const at = f * area + r * width, row = ch * inArea + y * input.width + dx - pad;
            for (let c = first; c < last; c++) out[at + c] += src[row + c * stride] * weight;
          }
        }
      }
    }
  }
  return out;
}

// Map m: x * scale[m], then + shift[m], in float64 (frame_decode.decode does the same two steps;
// JavaScript never fuses them), from a source worked out here, never a rounded one.
function batchnorm(source, { scale, shift }, maps, area) {
  const out = new Float64Array(maps * area);
  for (let m = 0; m < maps; m++) {
    const a = scale[m], b = shift[m];
    for (let i = m * area; i < (m + 1) * area; i++) out[i] = source[i] * a + b;
  }
  return out;
}

function relu(source) {
  const out = new Float64Array(source.length);
  for (let i = 0; i < source.length; i++) out[i] = source[i] > 0 ? source[i] : 0;
  return out;
}

function maxpool(source, maps, fromHeight, fromWidth, height, width, size, stride) {
  const out = new Float64Array(maps * height * width);
  for (let m = 0, i = 0; m < maps; m++) {
    const base = m * fromHeight * fromWidth;
    for (let r = 0; r < height; r++) {
      for (let c = 0; c < width; c++, i++) {
        let best = -Infinity;
        for (let dy = 0; dy < size; dy++) {
          const row = base + (r * stride + dy) * fromWidth + c * stride;
          for (let dx = 0; dx < size; dx++) if (source[row + dx] > best) best = source[row + dx];
        }
        out[i] = best;
      }
    }
  }
  return out;
}

// Map `m` (`area` values from `start`) to 0..255 over its own min..max, as the server does.
function quantize(values, start, area, layer, m) {
  let lo = Infinity, hi = -Infinity;
  for (let i = start; i < start + area; i++) {
    if (values[i] < lo) lo = values[i];
    if (values[i] > hi) hi = values[i];
  }
  layer.min[m] = lo;
  layer.max[m] = hi;
  lo = layer.min[m]; // as float32, as read back
  const scale = 255 / Math.max(layer.max[m] - lo, 1e-30);
  for (let i = start; i < start + area; i++) {
    const q = Math.floor((values[i] - lo) * scale + 0.5);
    layer.values[i] = q < 0 ? 0 : q > 255 ? 255 : q;
  }
}
