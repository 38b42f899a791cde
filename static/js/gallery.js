// The teacher's live gallery: every submission as a card, newest first, filterable by a
// cell of the confusion matrix; picking a card spotlights it.
import { mark, thumbnail } from "./submissions.js";

export class Gallery {
  constructor(list, emptyNote, onPick) {
    this.list = list;
    this.emptyNote = emptyNote;
    this.onPick = onPick;
    this.only = null; // { intended, predicted } or null for all
  }

  reset(submissions) {
    // Built off the page and put in at once: a class of hundreds opens in one layout.
    const items = submissions.map((s) => this.item(s)).reverse();
    this.list.replaceChildren(...items);
    this.refresh();
  }

  add(s) {
    this.list.prepend(this.item(s));
    this.refresh();
  }

  item(s) {
    const item = document.createElement("li");
    const card = document.createElement("button");
    card.type = "button";
    card.className = `card ${s.correct ? "right" : "wrong"}`;
    Object.assign(card.dataset, { id: s.id, intended: s.intended, predicted: s.predicted });
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = s.name; // text, never markup: names are typed by students
    const result = document.createElement("span");
    result.className = "verdict";
    result.textContent = `${s.intended} → ${s.predicted} ${mark(s)}`;
    // The name starts with the card's visible text, so a speech user can say what they see.
    card.setAttribute("aria-label", `${s.name}: ${result.textContent} (meant ${s.intended}, read as ${s.predicted}, ${s.correct ? "right" : "wrong"}). Show it big`);
    // The space keeps the name and the verdict two words for assistive software (flex hides it).
    card.append(thumbnail(s.thumbnail, `${s.name}'s ${s.intended}`), name, " ", result);
    card.addEventListener("click", () => this.onPick(s.id));
    item.append(card);
    this.show(item);
    return item;
  }

  filter(only) {
    this.only = only;
    for (const item of this.list.children) this.show(item);
    this.refresh();
  }

  show(item) {
    const { intended, predicted } = item.firstChild.dataset;
    item.hidden = this.only !== null && (Number(intended) !== this.only.intended || Number(predicted) !== this.only.predicted);
  }

  refresh() {
    this.emptyNote.hidden = this.list.children.length > 0;
  }
}
