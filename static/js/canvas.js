// The drawing surface: pointer events (mouse, touch, pen), strokes in canvas pixels, undo.
export class DrawingPad {
  constructor(canvas, onChange) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.onChange = onChange;
    this.strokes = [];
    this.picture = null; // an uploaded image shown instead of strokes
    this.pointerId = null;
    canvas.addEventListener("pointerdown", (e) => this.down(e));
    canvas.addEventListener("pointermove", (e) => this.move(e));
    for (const type of ["pointerup", "pointercancel"]) canvas.addEventListener(type, (e) => this.up(e));
    this.redraw();
  }

  point(e) {
    const rect = this.canvas.getBoundingClientRect();
    const x = ((e.clientX - rect.left) * this.canvas.width) / rect.width;
    const y = ((e.clientY - rect.top) * this.canvas.height) / rect.height;
    return [Math.round(x * 10) / 10, Math.round(y * 10) / 10];
  }

  down(e) {
    if (this.pointerId !== null || (e.pointerType === "mouse" && e.button !== 0)) return;
    e.preventDefault();
    this.pointerId = e.pointerId;
    this.canvas.setPointerCapture(e.pointerId);
    if (this.picture) this.picture = null;
    this.strokes.push([this.point(e)]);
    this.redraw();
    this.onChange("draw");
  }

  move(e) {
    if (e.pointerId !== this.pointerId) return;
    e.preventDefault();
    const stroke = this.strokes[this.strokes.length - 1];
    // Coalesced events keep fast strokes smooth where the browser batches them.
    const events = e.getCoalescedEvents ? e.getCoalescedEvents() : [];
    for (const ev of events.length ? events : [e]) stroke.push(this.point(ev));
    this.redraw();
    this.onChange("draw");
  }

  up(e) {
    if (e.pointerId !== this.pointerId) return;
    this.pointerId = null;
    this.onChange("end");
  }

  clear() {
    this.strokes = [];
    this.picture = null;
    this.pointerId = null;
    this.redraw();
    this.onChange("clear");
  }

  undo() {
    if (this.picture) return this.clear();
    if (!this.strokes.length) return;
    this.strokes.pop();
    this.pointerId = null;
    this.redraw();
    this.onChange("undo");
  }

  showPicture(bitmap) {
    this.strokes = [];
    this.picture = bitmap;
    this.redraw();
  }

  get isEmpty() {
    return !this.picture && this.strokes.every((s) => s.length === 0);
  }

  redraw() {
    const { ctx, canvas } = this;
    const style = getComputedStyle(canvas);
    ctx.fillStyle = style.getPropertyValue("--canvas-bg").trim() || "#fff";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    if (this.picture) {
      const s = Math.min(canvas.width / this.picture.width, canvas.height / this.picture.height);
      const w = this.picture.width * s, h = this.picture.height * s;
      ctx.drawImage(this.picture, (canvas.width - w) / 2, (canvas.height - h) / 2, w, h);
      return;
    }
    ctx.strokeStyle = ctx.fillStyle = style.getPropertyValue("--ink").trim() || "#000";
    ctx.lineWidth = canvas.width * 0.045;
    ctx.lineCap = ctx.lineJoin = "round";
    for (const stroke of this.strokes) {
      ctx.beginPath();
      ctx.moveTo(...stroke[0]);
      for (const p of stroke.slice(1)) ctx.lineTo(...p);
      if (stroke.length === 1) ctx.lineTo(stroke[0][0] + 0.01, stroke[0][1]);
      ctx.stroke();
    }
  }
}
