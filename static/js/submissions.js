// Submissions to a class as the pages show them: a 28x28 thumbnail and a verdict.

// The network's input (784 bytes, 0-255, white ink on black) as a small canvas.
export function thumbnail(bytes, label) {
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = 28;
  canvas.className = "thumb";
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", label);
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(28, 28);
  const values = new Uint8Array(bytes);
  for (let i = 0; i < 784; i++) image.data.set([values[i], values[i], values[i], 255], 4 * i);
  ctx.putImageData(image, 0, 0);
  return canvas;
}

export const mark = (s) => (s.correct ? "✓" : "✗");

// "meant 3, read 8 ✗": words first, so the line reads out well too.
export function verdict(s) {
  return `meant ${s.intended}, read ${s.predicted} ${mark(s)}`;
}
