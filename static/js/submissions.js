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
  for (let i = 0; i < 784; i++) {
    image.data[4 * i] = image.data[4 * i + 1] = image.data[4 * i + 2] = values[i];
    image.data[4 * i + 3] = 255;
  }
  ctx.putImageData(image, 0, 0);
  return canvas;
}

// class_state sends every thumbnail in one attachment (the Socket.IO client refuses more
// than 10 per message): give each submission its own 784-byte view of it.
export function unpackThumbnails({ submissions, thumbnails }) {
  const all = new Uint8Array(thumbnails);
  submissions.forEach((s, i) => {
    s.thumbnail = all.subarray(784 * i, 784 * (i + 1));
  });
  return submissions;
}

export const mark = (s) => (s.correct ? "✓" : "✗");

// A drawing the server found unlike the training digits (model/novelty.py): said in words,
// since the network still names a digit for it. Old submissions carry no verdict (null).
export const UNLIKE = "not like a digit?";
export const unlikeNote = (s) => (s.unlike ? `; ${UNLIKE}` : "");

// "meant 3, read 8 ✗": words first, so the line reads out well too.
export function verdict(s) {
  return `meant ${s.intended}, read ${s.predicted} ${mark(s)}`;
}
