// One map enlarged, updating live; hover or touch to read true values.
import { paintMap } from "./activations.js";
import { trueValue } from "./frame.js";

export class Inspector {
  constructor(dialog) {
    this.dialog = dialog;
    this.canvas = dialog.querySelector("canvas");
    this.title = dialog.querySelector(".inspector-title");
    this.readout = dialog.querySelector(".inspector-readout");
    this.target = null;
    this.layer = null;
    dialog.querySelector(".inspector-close").addEventListener("click", () => dialog.close());
    dialog.addEventListener("close", () => (this.target = null));
    this.canvas.addEventListener("pointermove", (e) => this.hover(e));
    this.canvas.addEventListener("pointerdown", (e) => this.hover(e));
  }

  open(name, map, frame) {
    this.target = { name, map };
    delete this.readout.dataset.hovered;
    if (!this.dialog.open) this.dialog.showModal();
    this.refresh(frame);
  }

  refresh(frame) {
    if (!this.target) return;
    const layer = frame && frame.layers.find((l) => l.name === this.target.name);
    this.layer = layer || null;
    if (!layer) {
      this.readout.textContent = "Nothing drawn.";
      this.canvas.getContext("2d").clearRect(0, 0, this.canvas.width, this.canvas.height);
      return;
    }
    const m = this.target.map;
    const dense = layer.height === 1;
    this.title.textContent = dense ? `${layer.name} · ${layer.width} units` : `${layer.name} · map ${m} · ${layer.height}×${layer.width}`;
    this.canvas.width = layer.width;
    this.canvas.height = layer.height;
    this.canvas.classList.toggle("strip", dense);
    const identity = Uint8Array.from({ length: 256 }, (_, q) => (layer.max[m] > layer.min[m] ? q : 0));
    paintMap(this.canvas, layer, m, identity, new ImageData(layer.width, layer.height));
    if (!this.readout.dataset.hovered) this.readout.textContent = `min ${layer.min[m].toFixed(4)} · max ${layer.max[m].toFixed(4)} — point at a unit to read its value`;
  }

  hover(e) {
    const layer = this.layer;
    if (!layer) return;
    const rect = this.canvas.getBoundingClientRect();
    const col = Math.min(layer.width - 1, Math.floor(((e.clientX - rect.left) / rect.width) * layer.width));
    const row = Math.min(layer.height - 1, Math.floor(((e.clientY - rect.top) / rect.height) * layer.height));
    const m = this.target.map;
    const q = layer.values[m * layer.width * layer.height + row * layer.width + col];
    const value = trueValue(layer, m, q).toFixed(4);
    this.readout.dataset.hovered = "1";
    this.readout.textContent = layer.height === 1 ? `unit ${col}: ${value}` : `row ${row}, column ${col}: ${value}`;
  }
}
