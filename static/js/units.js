// How one unit of one map is computed, for the inspector: from the network's layer table
// and filters (network.json, built from the model's description) and the frame on screen.
// No layer is named here: a unit's arithmetic follows its layer's kind, kernel size,
// strides, padding and channels. Values computed from the exact input (a conv of the 28x28
// grey input, and activations or batch norm of it) are exact, as the server's; values read
// from a map the frame rounded are marked ≈ (within half a step of 8 bits).
import { trueValue } from "./frame.js";

const f4 = (v) => v.toFixed(4);
const signed = (v) => (v < 0 ? `(${f4(v)})` : f4(v));
const MAX_TERMS = 16; // more taps than this: the biggest contributions instead of every term
const ACTIVATIONS = {
  relu: [(x) => Math.max(0, x), (x, v) => `ReLU: max(0, ${f4(x)}) = ${f4(v)}`],
  sigmoid: [(x) => 1 / (1 + Math.exp(-x)), (x, v) => `sigmoid: 1 / (1 + e^−(${f4(x)})) = ${f4(v)}`],
  tanh: [Math.tanh, (x, v) => `tanh(${f4(x)}) = ${f4(v)}`],
  linear: [(x) => x, (x, v) => `linear: ${f4(v)}`],
};

export class UnitMath {
  // `network`: network.json ({input, architecture, kernels}).
  constructor(network) {
    this.input = network.input;
    this.kernels = network.kernels;
    this.byFrameName = {};
    this.byName = {};
    for (const layer of network.architecture) {
      this.byName[layer.name] = layer;
      if (layer.frame_name) this.byFrameName[layer.frame_name] = layer;
    }
    // The frame's input is the model's own only for a 28x28 grey model (webapp/frames.py).
    const [h, w, c] = network.input.shape;
    this.exactInput = h === 28 && w === 28 && c === 1;
  }

  layer(frameName) {
    return this.byFrameName[frameName];
  }

  // The layer whose channel m this layer's channel m is (a conv, through activations,
  // batch norm and pooling): whose filter m the inspector's top patches show.
  convOf(frameName) {
    let layer = this.layer(frameName);
    while (layer && ["activation", "batchnorm", "maxpool", "avgpool"].includes(layer.kind)) layer = this.byName[layer.inputs[0]];
    return layer && layer.kind === "conv" ? layer : null;
  }

  // { value, text } for unit (row, col) of map m of frame layer `frameName`.
  explain(frame, frameName, m, row, col) {
    const exact = this.exact(frame, this.layer(frameName), m, row, col);
    if (exact) return exact;
    return { value: this.shown(frame, frameName, m, row, col), text: this.approximate(frame, this.layer(frameName), m, row, col) };
  }

  // The value on screen: the frame's (rounded to 8 bits over the map's range).
  shown(frame, frameName, m, row, col) {
    const layer = frame.layers.find((l) => l.name === frameName);
    return trueValue(layer, m, layer.values[m * layer.width * layer.height + row * layer.width + col]);
  }

  // Computed from the exact input, or null when the unit depends on a rounded map.
  exact(frame, layer, m, row, col) {
    if (!layer) return null;
    if (layer.kind === "conv" && layer.inputs[0] === this.input.name && this.exactInput) {
      return this.convSum(frame, layer, m, row, col);
    }
    const from = this.byName[layer.inputs[0]];
    if (layer.kind === "activation" && ACTIVATIONS[layer.params.activation]) {
      const source = this.exact(frame, from, m, row, col);
      if (!source) return null;
      const [f, say] = ACTIVATIONS[layer.params.activation];
      const value = f(source.value);
      return { value, text: `${source.text}\n${say(source.value, value)}` };
    }
    if (layer.kind === "batchnorm" && layer.scale) {
      const source = this.exact(frame, from, m, row, col);
      if (!source) return null;
      const value = source.value * layer.scale[m] + layer.shift[m];
      return { value, text: `${source.text}\nbatch norm: ${f4(source.value)} × ${signed(layer.scale[m])} + ${signed(layer.shift[m])} = ${f4(value)}` };
    }
    return null;
  }

  // A conv unit of the input: the kh×kw patch (zero padding outside) times the filter, plus the bias.
  convSum(frame, layer, m, row, col) {
    const kernel = this.kernels[layer.frame_name];
    const [kh, kw] = kernel.size, [sh, sw] = kernel.strides, [top, , left] = kernel.pad;
    const [height, width] = this.input.shape;
    let sum = kernel.bias[m];
    const terms = [];
    for (let dy = 0; dy < kh; dy++) {
      for (let dx = 0; dx < kw; dx++) {
        const r = row * sh + dy - top, c = col * sw + dx - left;
        const x = r >= 0 && c >= 0 && r < height && c < width ? frame.image[r * width + c] : 0;
        const w = kernel.values[m][dy * kernel.width + dx];
        sum += x * w;
        terms.push(`${x.toFixed(3)} × ${signed(w)}`);
      }
    }
    const shown = terms.length <= MAX_TERMS ? terms.join(" + ") : `${terms.slice(0, MAX_TERMS).join(" + ")} + … (${terms.length} terms)`;
    return { value: sum, text: `input patch × filter ${m} + bias (${kh}×${kw}):\n${shown} + ${signed(kernel.bias[m])} = ${f4(sum)}` };
  }

  // From rounded maps: what goes into the unit, read from the frame (≈ 8-bit values).
  approximate(frame, layer, m, row, col) {
    if (!layer) return "";
    const source = this.byName[layer.inputs[0]];
    const sourceFrame = source && source.frame_name && frame.layers.find((l) => l.name === source.frame_name);
    if (layer.kind === "conv" && sourceFrame) return this.contributions(frame, layer, sourceFrame, m, row, col);
    if ((layer.kind === "maxpool" || layer.kind === "avgpool") && sourceFrame) return this.window(layer, sourceFrame, m, row, col);
    if (layer.kind === "gap" && sourceFrame) return `the mean of every unit of ${sourceFrame.name} map ${m}`;
    if (layer.kind === "activation") return `${layer.params.activation} of ${source ? source.name : "its input"} map ${m} at this unit`;
    if (layer.kind === "batchnorm" && layer.scale) {
      return `batch norm of ${source.name} map ${m}: x × ${signed(layer.scale[m])} + ${signed(layer.shift[m])}`;
    }
    return "";
  }

  // Which input maps push a conv unit up or down most (the filter × the patch of each).
  contributions(frame, layer, source, m, row, col) {
    const kernel = this.kernels[layer.frame_name];
    if (!kernel) return "";
    const [kh, kw] = kernel.size, [sh, sw] = kernel.strides, [top, , left] = kernel.pad;
    const parts = [];
    for (let ch = 0; ch < source.maps; ch++) {
      const blockTop = Math.floor(ch / kernel.columns) * kh, blockLeft = (ch % kernel.columns) * kw;
      let sum = 0;
      for (let dy = 0; dy < kh; dy++) {
        for (let dx = 0; dx < kw; dx++) {
          const r = row * sh + dy - top, c = col * sw + dx - left;
          if (r < 0 || c < 0 || r >= source.height || c >= source.width) continue;
          const x = trueValue(source, ch, source.values[ch * source.width * source.height + r * source.width + c]);
          sum += x * kernel.values[m][(blockTop + dy) * kernel.width + blockLeft + dx];
        }
      }
      parts.push({ ch, sum });
    }
    parts.sort((a, b) => Math.abs(b.sum) - Math.abs(a.sum));
    const top3 = parts.slice(0, 3).map((p) => `${source.name} map ${p.ch} ${p.sum >= 0 ? "+" : ""}${f4(p.sum)}`);
    return `biggest contributions (${kh}×${kw} patch of each of ${source.maps} ${source.name} maps × filter ${m}): ${top3.join(", ")}; bias ${signed(kernel.bias[m])}`;
  }

  // A pooling unit's window of its source map (cells in the padding left out, as Keras does).
  window(layer, source, m, row, col) {
    const [ph, pw] = layer.params.pool, [sh, sw] = layer.params.strides, [top, , left] = layer.params.pad;
    const cells = [];
    for (let dy = 0; dy < ph; dy++) {
      for (let dx = 0; dx < pw; dx++) {
        const r = row * sh + dy - top, c = col * sw + dx - left;
        if (r < 0 || c < 0 || r >= source.height || c >= source.width) continue;
        cells.push({ where: `${r},${c}`, v: trueValue(source, m, source.values[m * source.width * source.height + r * source.width + c]) });
      }
    }
    const listed = cells.map((c) => `[${c.where}] ${f4(c.v)}`).join(", ");
    const head = `the ${ph}×${pw} window of ${source.name} map ${m} (≈ 8-bit values): ${listed}`;
    if (layer.kind === "avgpool") return `${head}\nmean: ${f4(cells.reduce((a, c) => a + c.v, 0) / cells.length)}`;
    const best = cells.reduce((a, b) => (b.v > a.v ? b : a));
    return `${head}\nlargest wins: [${best.where}] ${f4(best.v)}`;
  }
}
