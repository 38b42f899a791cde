// Where the network looks: the saliency map for the predicted digit, overlaid on the input
// (at the model's own input size). Computed by the server in NumPy on request (pen-up),
// never per frame.
export class SaliencyView {
  // `model`: the model's name on the server ("": its default).
  constructor(canvas, button, model = "") {
    this.url = model ? `/api/saliency?model=${encodeURIComponent(model)}` : "/api/saliency";
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
    fetch(this.url, options)
      .then((r) => (r.ok ? r.json() : null))
      .then((answer) => {
        if (asked !== this.asked) return;
        if (answer) this.paint(answer);
        else this.clear();
      })
      .catch(() => this.clear());
  }

  paint({ saliency, digit }) {
    this.canvas.height = saliency.length;
    this.canvas.width = saliency[0].length;
    const ctx = this.canvas.getContext("2d");
    const image = ctx.createImageData(this.canvas.width, this.canvas.height);
    saliency.flat().forEach((s, i) => image.data.set([255, 120, 0, Math.round(230 * s)], 4 * i));
    ctx.putImageData(image, 0, 0);
    this.canvas.dataset.digit = digit;
    this.canvas.setAttribute("aria-label", `Where the network looks for its ${digit}: brighter orange, more influence`);
  }

  clear() {
    this.canvas.getContext("2d").clearRect(0, 0, this.canvas.width, this.canvas.height);
    delete this.canvas.dataset.digit;
  }
}

function pictureForm(bytes) {
  const form = new FormData();
  form.append("image", new Blob([bytes], { type: "image/png" }), "picture.png");
  return form;
}
