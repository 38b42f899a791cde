// The prediction strip's pictures, painted by the paint worker (paint-worker.js) with every
// frame it paints: the predicted digit, as text in the page's font and colour, the ten
// probabilities as bars, and the image the network saw. Painted there, a frame changes
// nothing in the page's document while the pen moves (bench/RESULTS.md 6h, 6j). No DOM here:
// all are OffscreenCanvases.

// `target`: { canvas, ctx, font, color, width, height } (device pixels: prediction.js's
// digitStyle); `digit`: a number, or null for nothing drawn. Painted only when something
// changed: an unchanged canvas is then not sent to the compositor again.
export function paintDigit(target, digit) {
  const { canvas, ctx } = target;
  const key = `${digit} ${target.font} ${target.color} ${target.width}×${target.height}`;
  if (key === target.painted) return;
  target.painted = key;
  if (canvas.width !== target.width) canvas.width = target.width;
  if (canvas.height !== target.height) canvas.height = target.height;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const text = digit === null ? "–" : String(digit);
  ctx.font = target.font;
  ctx.fillStyle = target.color;
  ctx.textAlign = "center";
  ctx.textBaseline = "alphabetic";
  // Centred on the glyph's own ink, as a digit in a box of its own height reads best.
  const ink = ctx.measureText(text);
  ctx.fillText(text, canvas.width / 2, (canvas.height + ink.actualBoundingBoxAscent - ink.actualBoundingBoxDescent) / 2);
}

// `target`: { canvas, ctx } of the input's size; `image`: its values in 0..1, row by row
// (a Float32Array), or null: black. Its pixels are kept on the target: every frame paints it.
export function paintImage(target, image) {
  const { canvas, ctx } = target;
  if (!target.picture) {
    target.picture = ctx.createImageData(canvas.width, canvas.height);
    target.pixels = new Uint32Array(target.picture.data.buffer);
  }
  const { picture, pixels } = target;
  pixels.fill(0xff000000);
  if (image) {
    const n = Math.min(pixels.length, image.length);
    for (let i = 0; i < n; i++) {
      const v = Math.round(255 * Math.min(1, Math.max(0, image[i])));
      pixels[i] = 0xff000000 | (v << 16) | (v << 8) | v; // grey: the same byte in R, G and B
    }
  }
  ctx.putImageData(picture, 0, 0);
}

// `target`: { canvas, ctx, width, height, rows: each bar's centre, bar: its height, radius,
// track, fill, top: colours } (device pixels: prediction.js's barStyle); `probabilities`: ten
// numbers, or null: empty tracks; `top`: the digit whose bar is in the top colour (the
// prediction), or null. Painted only when something changed, as the digit.
export function paintBars(target, probabilities, top) {
  const { canvas, ctx, width, height, rows, bar, radius } = target;
  const lengths = rows.map((_, d) => (probabilities ? Math.round(width * Math.min(1, Math.max(0, probabilities[d]))) : 0));
  const key = `${lengths} ${top} ${width}×${height} ${rows} ${bar} ${radius} ${target.track} ${target.fill} ${target.top}`;
  if (key === target.painted) return;
  target.painted = key;
  if (canvas.width !== width) canvas.width = width;
  if (canvas.height !== height) canvas.height = height;
  ctx.clearRect(0, 0, width, height);
  rows.forEach((centre, d) => {
    const y = Math.round(centre - bar / 2);
    ctx.save();
    ctx.beginPath();
    ctx.roundRect(0, y, width, bar, radius);
    ctx.fillStyle = target.track;
    ctx.fill();
    ctx.clip(); // the bar's ends rounded by its track's, as a filled part of it
    ctx.fillStyle = d === top ? target.top : target.fill;
    ctx.fillRect(0, y, lengths[d], bar);
    ctx.restore();
  });
}
