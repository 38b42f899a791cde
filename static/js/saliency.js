// Where the network looks: the saliency map for the predicted digit, overlaid on the 28×28
// input. Computed by the server with TensorFlow on request (pen-up), never per frame.
export class SaliencyView {
  constructor(canvas, button) {
    this.canvas = canvas;
    this.button = button;
    this.on = false;
    this.last = null; // what to explain: { strokes } or { picture: bytes }
    this.asked = 0;
    button.addEventListener("click", () => this.toggle());
  }

  toggle() {
    this.on = !this.on;
    this.button.setAttribute("aria-pressed", this.on);
    this.canvas.hidden = !this.on;
    if (this.on) this.request(this.last);
  }

  request(input) {
    this.last = input;
    if (!input) return this.clear();
    if (!this.on) return;
    const asked = ++this.asked; // only the newest answer is shown
    const options = input.picture
      ? { method: "POST", body: pictureForm(input.picture) }
      : { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ strokes: input.strokes }) };
    fetch("/api/saliency", options)
      .then((r) => (r.ok ? r.json() : null))
      .then((answer) => {
        if (asked !== this.asked) return;
        if (answer) this.paint(answer);
        else this.clear();
      })
      .catch(() => this.clear());
  }

  paint({ saliency, digit }) {
    const ctx = this.canvas.getContext("2d");
    const image = ctx.createImageData(28, 28);
    saliency.flat().forEach((s, i) => image.data.set([255, 120, 0, Math.round(230 * s)], 4 * i));
    ctx.putImageData(image, 0, 0);
    this.canvas.dataset.digit = digit;
    this.canvas.setAttribute("aria-label", `Where the network looks for its ${digit}: brighter orange, more influence`);
  }

  clear() {
    this.canvas.getContext("2d").clearRect(0, 0, 28, 28);
    delete this.canvas.dataset.digit;
  }
}

function pictureForm(bytes) {
  const form = new FormData();
  form.append("image", new Blob([bytes], { type: "image/png" }), "picture.png");
  return form;
}
