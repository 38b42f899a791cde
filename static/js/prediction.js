// The predicted digit, the ten probabilities and the 28x28 image the network saw.
import { setText } from "./text.js";

// The percentages while results stream in: at most this often (as the layers' ranges,
// activations.js), since numbers that change every frame cannot be read and each change
// costs the page a layout; the bars and the digit follow every frame, and a final result's
// numbers are always written.
const NUMBERS_EVERY_MS = 250;

export class PredictionView {
  constructor(root, bars, inputCanvas) {
    this.root = root;
    this.digit = root.querySelector(".digit");
    this.inputCanvas = inputCanvas;
    this.rows = [];
    this.numbersShown = -Infinity; // when the percentages were last written
    for (let d = 0; d < 10; d++) {
      const row = document.createElement("div");
      row.className = "bar-row";
      row.innerHTML = `<span class="bar-label">${d}</span><span class="bar-track"><span class="bar-fill"></span></span><span class="bar-value"></span>`;
      bars.append(row);
      this.rows.push({ row, fill: row.querySelector(".bar-fill"), value: row.querySelector(".bar-value") });
    }
    this.empty();
  }

  // Called for every painted frame (`final`: the result of the finished drawing, the pen
  // lifted; not one that caught up with the pen mid-stroke): bars move by
  // transform (no layout), and text is only written when it changes (writing the same text
  // still invalidates the page's layout).
  show(frame, final = true) {
    if (this.root.dataset.digit !== String(frame.digit)) this.root.dataset.digit = frame.digit;
    setText(this.digit, String(frame.digit));
    frame.probabilities.forEach((p, d) => {
      const { row, fill } = this.rows[d];
      fill.style.transform = `scaleX(${p.toFixed(3)})`;
      row.classList.toggle("top", d === frame.digit);
    });
    const wait = final ? 0 : this.numbersShown + NUMBERS_EVERY_MS - performance.now();
    clearTimeout(this.numbersLater);
    if (wait > 0) this.numbersLater = setTimeout(() => this.showNumbers(frame), wait); // the newest, a little later
    else this.showNumbers(frame);
    const ctx = this.inputCanvas.getContext("2d");
    const image = ctx.createImageData(28, 28);
    for (let i = 0; i < 784; i++) {
      const v = Math.round(255 * Math.min(1, Math.max(0, frame.image[i])));
      image.data.set([v, v, v, 255], 4 * i);
    }
    ctx.putImageData(image, 0, 0);
  }

  showNumbers(frame) {
    this.numbersShown = performance.now();
    const confidence = (100 * frame.probabilities[frame.digit]).toFixed(0);
    const label = `Prediction: ${frame.digit}, ${confidence}% sure`;
    if (this.root.getAttribute("aria-label") !== label) this.root.setAttribute("aria-label", label);
    frame.probabilities.forEach((p, d) => setText(this.rows[d].value, `${(100 * p).toFixed(p < 0.1 ? 1 : 0)}%`));
  }

  empty() {
    clearTimeout(this.numbersLater);
    this.root.dataset.digit = "";
    this.digit.textContent = "–";
    this.root.setAttribute("aria-label", "Prediction: nothing drawn");
    for (const { row, fill, value } of this.rows) {
      fill.style.transform = "scaleX(0)";
      value.textContent = "";
      row.classList.remove("top");
    }
    const ctx = this.inputCanvas.getContext("2d");
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, 28, 28);
  }

  setBusy(busy) {
    const value = busy ? "true" : "false";
    if (this.root.dataset.busy !== value) this.root.dataset.busy = value; // a write restyles, even of the same value
  }
}
