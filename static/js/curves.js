// Training curves on a canvas: lines of (x, y) points, each series its own colour, drawn
// again whole on every update (a few hundred points: cheaper than keeping paths). The
// axes fit the data; `yMax` fixes the top (1 for accuracy).
export class Curves {
  constructor(canvas, { yMax = null, label = "" } = {}) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.yMax = yMax;
    this.label = label;
    this.series = new Map(); // name → { colour, dashed, points: [[x, y]] }
    this.xMax = 1;
  }

  define(name, colour, dashed = false) {
    this.series.set(name, { colour, dashed, points: [] });
  }

  add(name, x, y) {
    if (!Number.isFinite(y)) return;
    this.series.get(name).points.push([x, y]);
    this.draw();
  }

  clear(xMax = 1) {
    for (const s of this.series.values()) s.points = [];
    this.xMax = xMax;
    this.draw();
  }

  // How many points are drawn: the tests read it, people read the picture.
  get count() {
    return [...this.series.values()].reduce((n, s) => n + s.points.length, 0);
  }

  draw() {
    const { ctx, canvas } = this;
    const w = canvas.width, h = canvas.height, pad = 28;
    const style = getComputedStyle(canvas);
    ctx.clearRect(0, 0, w, h);
    const all = [...this.series.values()].flatMap((s) => s.points);
    const top = this.yMax ?? Math.max(1e-6, ...all.map(([, y]) => y)) * 1.05;
    const xMax = Math.max(this.xMax, ...all.map(([x]) => x));
    const px = (x) => pad + ((w - 2 * pad) * x) / xMax;
    const py = (y) => h - pad - ((h - 2 * pad) * y) / top;
    ctx.strokeStyle = style.getPropertyValue("--muted").trim() || "#999";
    ctx.fillStyle = ctx.strokeStyle;
    ctx.lineWidth = 1;
    ctx.strokeRect(pad, pad, w - 2 * pad, h - 2 * pad);
    ctx.font = "12px system-ui, sans-serif";
    ctx.fillText(`${this.label} (top: ${top.toFixed(2)})`, pad, pad - 8);
    for (const s of this.series.values()) {
      if (!s.points.length) continue;
      ctx.strokeStyle = s.colour;
      ctx.fillStyle = s.colour;
      ctx.lineWidth = 2;
      ctx.setLineDash(s.dashed ? [6, 4] : []);
      ctx.beginPath();
      s.points.forEach(([x, y], i) => (i ? ctx.lineTo(px(x), py(y)) : ctx.moveTo(px(x), py(y))));
      ctx.stroke();
      // Epoch points (dashed series) are few: mark each, so one alone is still seen.
      if (s.dashed) for (const [x, y] of s.points) ctx.fillRect(px(x) - 3, py(y) - 3, 6, 6);
    }
    ctx.setLineDash([]);
  }
}
