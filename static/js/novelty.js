// "Is this a digit at all?": the notice beside the prediction when the server flags a
// drawing as unlike the digits the network was trained on (frame.unlike, model/novelty.py).
// It changes only on settled results (the answer for what is drawn, pen up), and appears
// only after SHOW_AFTER ms of such a result, so it never flickers while a digit is drawn
// (between the strokes of a 4 or a 5 the half-drawn digit may well look unlike one).
const SHOW_AFTER = 500;

export class NoveltyNotice {
  constructor(root) {
    this.root = root;
    this.named = root.querySelector(".novelty-digit");
    this.timer = 0;
    this.hide();
  }

  // `settled`: the frame answers what is on the pad now and the pen is up (or it is
  // someone else's finished drawing). An unsettled frame changes nothing.
  update(frame, settled) {
    if (!frame) return this.hide();
    if (!settled) return;
    if (!frame.unlike) return this.hide();
    const digit = String(frame.digit);
    clearTimeout(this.timer);
    if (!this.root.hidden) return this.name(digit);
    this.timer = setTimeout(() => {
      this.name(digit);
      this.root.hidden = false;
      this.root.dataset.shown = "true";
    }, SHOW_AFTER);
  }

  hide() {
    clearTimeout(this.timer);
    if (this.root.hidden && this.root.dataset.shown === "false") return; // a write restyles, even of the same value
    this.root.hidden = true;
    this.root.dataset.shown = "false";
  }

  name(digit) {
    if (this.named.textContent !== digit) this.named.textContent = digit;
  }
}
