// A model's data for a page (network.json, built from its description: webapp/network_data.py)
// and the link that asks the server for that model's frames.
import { Connection } from "./connection.js";
import { UnitMath } from "./units.js";

export async function fetchJSON(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return response.json();
}

// The network's layer table, filters and fields. Filter values come as the shortest
// decimals of their float32 values: Math.fround gives back exactly the numbers the server
// computes with.
export async function loadNetwork(url) {
  const network = await fetchJSON(url);
  const { architecture, kernels } = network;
  for (const kernel of Object.values(kernels)) {
    kernel.values = kernel.values.map((row) => row.map(Math.fround));
    kernel.bias = kernel.bias.map(Math.fround);
  }
  // A frame's batchnorm layers are worked out with these (frame.js), by the frame's name.
  const batchnorm = {};
  for (const layer of architecture.filter((l) => l.kind === "batchnorm")) {
    layer.scale = layer.scale.map(Math.fround);
    layer.shift = layer.shift.map(Math.fround);
    if (layer.frame_name) batchnorm[layer.frame_name] = { scale: layer.scale, shift: layer.shift };
  }
  const notes = {}; // explanations of flatten and dropout go with the next layer that has maps
  for (const layer of architecture) (notes[layer.shown_at] ||= []).push(`${layer.name}: ${layer.explanation}`);
  return {
    network,
    notes,
    kernels,
    batchnorm,
    units: new UnitMath(network),
    inputShape: network.input.shape,
    fields: Object.fromEntries(architecture.filter((l) => l.field && l.frame_name).map((l) => [l.frame_name, l.field])),
  };
}

// `(layer, unit)` → a promise of one dense unit's weights (webapp/unit_weights.py), each
// asked once: a dense layer's weights are too many to load with the page.
export function denseUnits(networkUrl) {
  return askedOnce(networkUrl, (layer, unit) => `${layer}/${unit}`, (d) => ({ ...d, weights: d.weights.map(Math.fround), bias: Math.fround(d.bias) }));
}

// `(layer, index)` → a promise of dense layer `layer`'s input `index`: its weight to each of
// the layer's units (what a unit feeding a dense layer reaches most).
export function denseInputs(networkUrl) {
  return askedOnce(networkUrl, (layer, index) => `${layer}/in/${index}`, (d) => ({ ...d, weights: d.weights.map(Math.fround) }));
}

function askedOnce(networkUrl, path, read) {
  const asked = new Map();
  return (...args) => {
    const key = path(...args);
    if (!asked.has(key)) {
      const url = networkUrl.replace(/\.json$/, `/${key}.json`);
      asked.set(key, fetchJSON(url).then(read, (error) => {
        asked.delete(key); // asked again next time
        throw error;
      }));
    }
    return asked.get(key);
  };
}

// A Connection whose every drawing and picture says which model is to read it.
export class ModelConnection extends Connection {
  constructor(painter, options, model) {
    super(painter, options);
    this.model = model;
  }

  send({ event, payload }, now) {
    super.send({ event, payload: this.model ? { ...payload, model: this.model } : payload }, now);
  }
}
