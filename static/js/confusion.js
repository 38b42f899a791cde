// Class accuracy and the 10x10 confusion matrix: rows the digit meant, columns the digit
// the network read. A cell's shade is its share of its row (white text on it at every shade);
// clicking it picks its drawings.
export class ConfusionMatrix {
  constructor(table, accuracy, onPick) {
    this.accuracy = accuracy;
    this.cells = [...table.querySelectorAll("button[data-intended]")];
    this.selected = null;
    for (const cell of this.cells) {
      cell.addEventListener("click", () => onPick(Number(cell.dataset.intended), Number(cell.dataset.predicted)));
    }
  }

  update({ matrix, total, correct, accuracy }) {
    for (const cell of this.cells) {
      const i = Number(cell.dataset.intended), j = Number(cell.dataset.predicted);
      const n = matrix[i][j];
      const row = matrix[i].reduce((a, b) => a + b, 0);
      cell.textContent = n || ""; // empty cells stay quiet, so the counts stand out
      cell.disabled = n === 0;
      cell.classList.toggle("hit", i === j && n > 0);
      cell.classList.toggle("miss", i !== j && n > 0);
      cell.style.setProperty("--share", row ? (n / row).toFixed(3) : 0);
      cell.setAttribute("aria-label", `meant ${i}, read as ${j}: ${n} drawing${n === 1 ? "" : "s"}`);
    }
    this.select(this.selected);
    this.accuracy.querySelector(".value").textContent = accuracy === null ? "–" : `${Math.round(100 * accuracy)}%`;
    this.accuracy.querySelector(".detail").textContent = total ? `${correct} of ${total} read right` : "no drawings yet";
  }

  // The cell whose drawings the gallery shows ({ intended, predicted }, or null: all), marked
  // pressed: outlined, and read out as pressed.
  select(only) {
    this.selected = only;
    for (const cell of this.cells) {
      const on = only !== null && Number(cell.dataset.intended) === only.intended && Number(cell.dataset.predicted) === only.predicted;
      cell.setAttribute("aria-pressed", String(on));
    }
  }
}
