// A dense unit's strongest inputs, in the inspector: each w·x with the real numbers (the
// unit's weights asked for on demand: unit_weights.py), then the sum, bias and activation
// that give the unit's value. Which input is which map, row and column: links.js.
import { describeUnit } from "./links.js";

const f4 = (v) => v.toFixed(4);
const signed = (v) => (v < 0 ? `(${f4(v)})` : f4(v));
const LISTED = 8;

export class UnitInputs {
  // `el`: the inspector's .dense-inputs section; `links`: a Links; `denseUnit(layer, unit)`:
  // a promise of the unit's weights.
  constructor(el, { links, denseUnit }) {
    this.el = el;
    this.links = links;
    this.denseUnit = denseUnit;
    this.asked = null;
  }

  hide() {
    this.asked = null;
    this.el.hidden = true;
  }

  async show(frame, name, unit) {
    const asked = (this.asked = { name, unit, frame });
    let dense;
    try {
      dense = await this.denseUnit(name, unit);
    } catch {
      dense = null;
    }
    if (this.asked !== asked) return; // pointed elsewhere meanwhile
    this.el.hidden = false;
    if (!dense) {
      this.el.textContent = `Could not load ${name} unit ${unit}'s weights.`;
      return;
    }
    const all = this.links.contributions(frame, dense);
    const total = all.reduce((a, t) => a + t.product, 0) + dense.bias;
    const layer = this.links.byFrame[name];
    const height = dense.in_shape.length === 3 ? dense.in_shape[0] : 1;
    const heading = document.createElement("p");
    heading.textContent = `${name} unit ${unit}: its ${LISTED} strongest of ${all.length} inputs (w·x, values of ${dense.source} as shown)`;
    const list = document.createElement("ol");
    list.className = "dense-input-list";
    for (const t of all.slice(0, LISTED)) {
      const item = document.createElement("li");
      Object.assign(item.dataset, { index: t.index, map: t.map, row: t.row, col: t.col, product: String(t.product) });
      item.textContent = `${describeUnit(dense.source, t, height)}: ${f4(t.x)} × ${signed(t.w)} = ${signed(t.product)}`;
      list.append(item);
    }
    const sum = document.createElement("p");
    const activation = layer.params.activation || "linear";
    sum.textContent = `all ${all.length} w·x + bias ${signed(dense.bias)} = ${f4(total)}` +
      (activation === "relu" ? `; ReLU: max(0, ${f4(total)}) = ${f4(Math.max(0, total))}` : activation === "softmax" ? " (its logit, ≈: from inputs as shown)" : "");
    this.el.replaceChildren(heading, list, sum);
  }
}
