// Which units of the layer before a unit it is computed from, and which units of the layer
// after it read it: all from the network's layer table (network.json, built from the
// model's description), so it holds for any kernel, stride, padding and channel count. No
// DOM here: connections.js draws what this returns.
//
// A box: { map, top, left, bottom, right, weight } in one shown layer's map (rows and
// columns inclusive, clipped to the map; a dense layer is one map of height 1), `weight`
// how much it matters, ≥ 0 (a conv: |w·x| summed over that input map's window).
import { trueValue } from "./frame.js";

const PASS_THROUGH = ["flatten", "dropout"]; // not shown: their values are their input's
const DENSE_SHOWN = 8; // a dense unit: its strongest inputs, this many; a unit feeding a dense layer: its strongest readers
const f3 = (v) => v.toFixed(3);
const span = (a, b) => (a === b ? `${a}` : `${a}-${b}`);

// The indices a window of `size` taps, `stride` apart, `before` of them in the padding,
// covers at output index i, clipped to 0..n-1.
function window(i, size, stride, before, n) {
  return [Math.max(0, i * stride - before), Math.min(n - 1, i * stride - before + size - 1)];
}

// The output indices (0..n-1) whose window holds input index i.
function readers(i, size, stride, before, n) {
  return [Math.max(0, Math.ceil((i + before - size + 1) / stride)), Math.min(n - 1, Math.floor((i + before) / stride))];
}

export class Links {
  // `network`: network.json ({input, architecture, kernels}).
  constructor(network) {
    this.input = network.input;
    this.kernels = network.kernels;
    this.layers = network.architecture;
    this.byName = Object.fromEntries(this.layers.map((l) => [l.name, l]));
    this.byFrame = Object.fromEntries(this.layers.filter((l) => l.frame_name).map((l) => [l.frame_name, l]));
    const [h, w, c] = network.input.shape;
    this.inputShown = h === 28 && w === 28 && c === 1; // the page's 28x28 view is the model's input
  }

  // The shown layer (or "input") a layer's values come from, past flatten and dropout.
  sourceOf(layer) {
    let name = layer.inputs[0];
    while (name !== this.input.name && PASS_THROUGH.includes(this.byName[name].kind)) name = this.byName[name].inputs[0];
    return name === this.input.name ? null : this.byName[name];
  }

  // The shown layer that reads this one, or null (the output).
  readerOf(layer) {
    return this.layers.find((l) => l.frame_name && this.sourceOf(l) === layer) || null;
  }

  // Where a unit of shown layer `name` comes from: { layer (a frame name, or "input"), boxes,
  // text } or null. `frame`: the frame on screen; `dense`: the unit's weights when it is a
  // dense unit (unit_weights.py), else nothing is said of its inputs.
  from(frame, name, m, row, col, dense = null) {
    const layer = this.byFrame[name];
    const source = this.sourceOf(layer);
    const sourceName = source ? source.frame_name : "input";
    if (!source && !this.inputShown) return null;
    const [sh, sw, sc] = source ? source.shape.length === 3 ? source.shape : [1, source.shape[0], 1] : this.input.shape;
    const kind = layer.kind, p = layer.params;
    const one = (boxes, text) => ({ layer: sourceName, boxes, text });
    if (kind === "conv") {
      const [rows, cols] = [window(row, p.kernel[0], p.strides[0], p.pad[0], sh), window(col, p.kernel[1], p.strides[1], p.pad[2], sw)];
      const weights = this.convShares(frame, layer, source, m, row, col, sc);
      const boxes = weights.map((weight, map) => ({ map, top: rows[0], left: cols[0], bottom: rows[1], right: cols[1], weight }));
      const most = [...boxes].sort((a, b) => b.weight - a.weight).slice(0, 3).map((b) => b.map);
      const maps = sc > 1 ? `of all ${sc} ${sourceName} maps (most from maps ${most.join(", ")})` : `of the ${sourceName}`;
      return one(boxes, `filter ${m} over rows ${span(...rows)}, columns ${span(...cols)} ${maps}`);
    }
    if (kind === "maxpool" || kind === "avgpool") {
      const rows = window(row, p.pool[0], p.strides[0], p.pad[0], sh), cols = window(col, p.pool[1], p.strides[1], p.pad[2], sw);
      const what = kind === "maxpool" ? "the maximum" : "the mean";
      return one([{ map: m, top: rows[0], left: cols[0], bottom: rows[1], right: cols[1], weight: 1 }],
        `${what} of ${sourceName} map ${m} rows ${span(...rows)}, columns ${span(...cols)}`);
    }
    if (kind === "gap") {
      return one([{ map: col, top: 0, left: 0, bottom: sh - 1, right: sw - 1, weight: 1 }], `the mean of all of ${sourceName} map ${col}`);
    }
    if (kind === "dense") return dense ? one(...this.denseInputs(frame, dense, col, sourceName)) : null;
    // ReLU and other activations, batch norm: unit for unit, map for map.
    const what = kind === "batchnorm" ? "batch norm" : p.activation || kind;
    const where = row === 0 && sh === 1 ? `unit ${col}` : `map ${m} at the same place`;
    return one([{ map: m, top: row, left: col, bottom: row, right: col, weight: 1 }], `${what} of ${sourceName} ${where}`);
  }

  // A conv unit: per input map, |Σ w·x| over its window (x read from the frame: the exact
  // input, or a map rounded to 8 bits).
  convShares(frame, layer, source, m, row, col, maps) {
    const kernel = this.kernels[layer.frame_name];
    if (!kernel) return new Array(maps).fill(1);
    const [kh, kw] = kernel.size, [sh, sw] = kernel.strides, [top, , left] = kernel.pad;
    const shown = source && frame.layers.find((l) => l.name === source.frame_name);
    const [height, width] = source ? [shown.height, shown.width] : this.input.shape;
    const x = (ch, r, c) => (shown ? trueValue(shown, ch, shown.values[(ch * height + r) * width + c]) : frame.image[r * width + c]);
    const out = [];
    for (let ch = 0; ch < maps; ch++) {
      const blockTop = Math.floor(ch / kernel.columns) * kh, blockLeft = (ch % kernel.columns) * kw;
      let sum = 0;
      for (let dy = 0; dy < kh; dy++) {
        for (let dx = 0; dx < kw; dx++) {
          const r = row * sh + dy - top, c = col * sw + dx - left;
          if (r < 0 || c < 0 || r >= height || c >= width) continue;
          sum += x(ch, r, c) * kernel.values[m][(blockTop + dy) * kernel.width + blockLeft + dx];
        }
      }
      out.push(Math.abs(sum));
    }
    return out;
  }

  // A dense unit's inputs as signed contributions w·x, strongest first: [{ index, map, row,
  // col, x, w, product }] over every input.
  contributions(frame, dense) {
    const source = frame.layers.find((l) => l.name === dense.source);
    const [h, w, c] = dense.in_shape.length === 3 ? dense.in_shape : [1, dense.in_shape[0], 1];
    const out = dense.weights.map((weight, index) => {
      let map = 0, row = 0, col = index;
      if (dense.inputs === "flatten") [map, row, col] = [index % c, Math.floor(index / c / w), Math.floor(index / c) % w];
      else if (dense.inputs === "gap") [map, row, col] = [index, 0, 0];
      const x = dense.inputs === "gap"
        ? meanOf(source, map)
        : trueValue(source, map, source.values[(map * source.height + row) * source.width + col]);
      return { index, map, row, col, x, w: weight, product: weight * x };
    });
    return out.sort((a, b) => Math.abs(b.product) - Math.abs(a.product));
  }

  denseInputs(frame, dense, unit, sourceName) {
    const strongest = this.contributions(frame, dense).slice(0, DENSE_SHOWN);
    const whole = dense.inputs === "gap";
    const [h, w] = dense.in_shape.length === 3 ? dense.in_shape : [1, dense.in_shape[0]];
    const boxes = strongest.map((t) => ({
      map: t.map, top: whole ? 0 : t.row, left: whole ? 0 : t.col, bottom: whole ? h - 1 : t.row, right: whole ? w - 1 : t.col,
      weight: Math.abs(t.product),
    }));
    const named = strongest.slice(0, 3).map((t) => `${describeUnit(sourceName, t, h)} ${t.product >= 0 ? "+" : ""}${f3(t.product)}`);
    return [boxes, `strongest inputs (w·x): ${named.join(", ")}`];
  }

  // The dense layer reading shown layer `name`, if one does: where to ask for a unit's
  // weights to it ({ layer, index }: the dense layer's input index, Keras' flatten order
  // for maps, else the unit), else null.
  denseReader(name, m, row, col) {
    const next = this.readerOf(this.byFrame[name]);
    if (!next || next.kind !== "dense") return null;
    const shape = this.byFrame[name].shape;
    const index = shape.length === 3 ? (row * shape[1] + col) * shape[2] + m : col;
    return { layer: next.frame_name, index };
  }

  // Which units of the next shown layer read unit (row, col) of map m: { layer, boxes, text }
  // or null. `frame`: the frame on screen; `reads`: the unit's weights to a dense reader
  // (denseReader, unit_weights.py), else a dense reader is outlined whole.
  to(frame, name, m, row, col, reads = null) {
    const layer = this.byFrame[name];
    const next = this.readerOf(layer);
    if (!next) return null;
    const [h, w, c] = next.shape.length === 3 ? next.shape : [1, next.shape[0], 1];
    const p = next.params, target = next.frame_name;
    const one = (boxes, text) => ({ layer: target, boxes, text });
    if (next.kind === "conv") {
      const rows = readers(row, p.kernel[0], p.strides[0], p.pad[0], h), cols = readers(col, p.kernel[1], p.strides[1], p.pad[2], w);
      const reads = this.filterReads(next, m, c);
      const boxes = reads.map((weight, map) => ({ map, top: rows[0], left: cols[0], bottom: rows[1], right: cols[1], weight }));
      return one(boxes, `feeds ${target} rows ${span(...rows)}, columns ${span(...cols)} of all ${c} maps`);
    }
    if (next.kind === "maxpool" || next.kind === "avgpool") {
      const rows = readers(row, p.pool[0], p.strides[0], p.pad[0], h), cols = readers(col, p.pool[1], p.strides[1], p.pad[2], w);
      if (rows[0] > rows[1] || cols[0] > cols[1]) return one([], `no ${target} unit reads it (past the last window)`);
      return one([{ map: m, top: rows[0], left: cols[0], bottom: rows[1], right: cols[1], weight: 1 }],
        `feeds ${target} map ${m} row ${span(...rows)}, column ${span(...cols)}`);
    }
    if (next.kind === "gap") return one([{ map: 0, top: 0, left: m, bottom: 0, right: m, weight: 1 }], `feeds ${target} unit ${m}`);
    if (next.kind === "dense" && reads) return one(...this.denseReaders(frame, name, m, row, col, reads.weights, target));
    if (next.kind === "dense") {
      return one([{ map: 0, top: 0, left: 0, bottom: 0, right: w - 1, weight: 1 }], `feeds every one of the ${w} units of ${target}`);
    }
    const where = h === 1 ? `unit ${col}` : `map ${m}, same place`;
    return one([{ map: m, top: row, left: col, bottom: row, right: col, weight: 1 }], `feeds ${target} ${where}`);
  }

  // The dense units a unit adds most to, w·x (x: its value on screen), the same pick as a
  // dense unit's strongest inputs. Where x is 0 it adds nothing: the largest weights are
  // outlined then, weighted by |w|, and the text says so.
  denseReaders(frame, name, m, row, col, weights, target) {
    const shown = frame.layers.find((l) => l.name === name);
    const x = trueValue(shown, m, shown.values[(m * shown.height + row) * shown.width + col]);
    const strongest = weights.map((w, unit) => ({ unit, w, product: w * x }))
      .sort((a, b) => Math.abs(b.w) - Math.abs(a.w)).slice(0, DENSE_SHOWN);
    const boxes = strongest.map((t) => ({ map: 0, top: 0, left: t.unit, bottom: 0, right: t.unit, weight: Math.abs(x ? t.product : t.w) }));
    const total = `all ${weights.length} units of ${target}`;
    const units = strongest.slice(0, 3).map((t) => t.unit).join(", ");
    if (!x) return [boxes, `is 0, so adds nothing to ${total} (its largest weights go to units ${units})`];
    const named = strongest.slice(0, 3).map((t) => `${t.unit} ${t.product >= 0 ? "+" : ""}${f3(t.product)}`);
    return [boxes, `feeds ${total}, most of all units ${named.join(", ")} (w·x)`];
  }

  // How strongly each filter of conv layer `conv` reads input map m: Σ|w| over its taps.
  filterReads(conv, m, filters) {
    const kernel = this.kernels[conv.frame_name];
    if (!kernel) return new Array(filters).fill(1);
    const [kh, kw] = kernel.size;
    const blockTop = Math.floor(m / kernel.columns) * kh, blockLeft = (m % kernel.columns) * kw;
    return kernel.values.map((values) => {
      let sum = 0;
      for (let dy = 0; dy < kh; dy++) for (let dx = 0; dx < kw; dx++) sum += Math.abs(values[(blockTop + dy) * kernel.width + blockLeft + dx]);
      return sum;
    });
  }
}

function meanOf(layer, m) {
  const size = layer.width * layer.height;
  let sum = 0;
  for (let i = 0; i < size; i++) sum += trueValue(layer, m, layer.values[m * size + i]);
  return sum / size;
}

// "pool2 map 3 row 2 column 4", or "dense1 unit 7" for a layer of height 1.
export function describeUnit(name, { map, row, col }, height) {
  return height === 1 ? `${name} unit ${col}` : `${name} map ${map} row ${row} column ${col}`;
}
