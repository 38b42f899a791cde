// Viridis: perceptually uniform and readable with every common colour-vision deficiency.
// Polynomial fit of matplotlib's viridis (after Matt Zucker's fits), tabulated once.
const COEFFS = [
  [0.2777273272234177, 0.005407344544966578, 0.3340998053353061],
  [0.1050930431085774, 1.404613529898575, 1.384590162594685],
  [-0.3308618287255563, 0.214847559468213, 0.09509516302823659],
  [-4.634230498983486, -5.799100973351585, -19.33244095627987],
  [6.228269936347081, 14.17993336680509, 56.69055260068105],
  [4.776384997670288, -13.74514537774601, -65.35303263337234],
  [-5.435455855934631, 4.645852612178535, 26.3124352495832],
];

function viridis(t) {
  return [0, 1, 2].map((ch) => {
    let v = 0;
    for (let k = COEFFS.length - 1; k >= 0; k--) v = v * t + COEFFS[k][ch];
    return Math.round(255 * Math.min(1, Math.max(0, v)));
  });
}

// 256 entries of packed RGBA (little-endian: 0xAABBGGRR) for writing into a Uint32Array.
export const LUT = new Uint32Array(256);
for (let i = 0; i < 256; i++) {
  const [r, g, b] = viridis(i / 255);
  LUT[i] = (255 << 24) | (b << 16) | (g << 8) | r;
}

export function cssColour(t) {
  const [r, g, b] = viridis(Math.min(1, Math.max(0, t)));
  return `rgb(${r}, ${g}, ${b})`;
}

export function paintLegend(canvas) {
  const ctx = canvas.getContext("2d");
  for (let x = 0; x < canvas.width; x++) {
    ctx.fillStyle = cssColour(x / (canvas.width - 1));
    ctx.fillRect(x, 0, 1, canvas.height);
  }
}

// Diverging purple–white–orange for signed weights: readable with common colour-vision
// deficiencies, unlike red–green. t in -1..1.
const NEGATIVE = [84, 39, 136], MIDDLE = [247, 247, 247], POSITIVE = [179, 88, 6];

export function diverging(t) {
  const s = Math.min(1, Math.abs(t));
  const end = t < 0 ? NEGATIVE : POSITIVE;
  return MIDDLE.map((m, i) => Math.round(m + (end[i] - m) * s));
}
