// The output layer's last step, written out in the inspector: the ten logits z (the
// network's own scores before the softmax, exact: frame version 6) and
// p_i = e^{z_i} / Σ_j e^{z_j} with the real numbers, so a learner sees how a score becomes
// a probability and why one large score takes almost everything.
const num = (v) => (Math.abs(v) >= 1e5 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(3) : v.toFixed(4));

export class SoftmaxView {
  // `el`: the inspector's .softmax-view section.
  constructor(el) {
    this.el = el;
    this.active = false;
  }

  // Shown only for the output layer (frame name `name` is it: `isOutput`).
  open(isOutput, frame) {
    this.active = isOutput;
    this.el.hidden = !isOutput;
    this.refresh(frame);
  }

  refresh(frame) {
    if (!this.active) return;
    if (!frame) {
      this.el.replaceChildren();
      return;
    }
    const z = Array.from(frame.logits);
    const exps = z.map(Math.exp); // float64: e^z of a float32 logit is far inside its range
    const sum = exps.reduce((a, b) => a + b, 0);
    const table = document.createElement("table");
    table.className = "softmax-table";
    const caption = table.createCaption();
    caption.textContent = `Softmax: p_i = e^z_i / Σ_j e^z_j, with Σ_j e^z_j = ${num(sum)}`;
    const head = table.createTHead().insertRow();
    for (const text of ["class", "logit z", "e^z", "p = e^z / Σ"]) {
      const th = document.createElement("th");
      th.scope = "col";
      th.textContent = text;
      head.append(th);
    }
    const body = table.createTBody();
    z.forEach((logit, i) => {
      const row = body.insertRow();
      const p = exps[i] / sum;
      Object.assign(row.dataset, { digit: i, logit: String(logit), probability: String(p) });
      if (i === frame.digit) row.className = "top";
      const th = document.createElement("th");
      th.scope = "row";
      th.textContent = String(i);
      row.append(th);
      for (const text of [num(logit), num(exps[i]), `${num(exps[i])} / ${num(sum)} = ${p.toFixed(4)}`]) row.insertCell().textContent = text;
    });
    this.el.replaceChildren(table);
  }
}
