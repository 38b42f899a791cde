// The prediction strip's two pictures, painted by the paint worker (paint-worker.js) with
// every frame it paints: the predicted digit, as text in the page's font and colour, and the
// image the network saw. Painted there, a frame changes nothing in the page's document while
// the pen moves (bench/RESULTS.md 6h). No DOM here: both are OffscreenCanvases.

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
