// Students' names on the teacher's screen, or, in anonymous mode (for the projector),
// "Student 7": numbered by when each student's first drawing arrived, so a number stays the
// same for the whole class, across reloads, and the exports keep the real names.
export class Names {
  constructor() {
    this.hidden = false;
    this.seats = new Map(); // student id -> number, from 1
  }

  // Submissions, oldest first (the class's whole record: numbers come out the same each time).
  reset(submissions) {
    this.seats.clear();
    for (const s of submissions) this.seat(s);
  }

  seat(s) {
    if (!this.seats.has(s.student)) this.seats.set(s.student, this.seats.size + 1);
    return this.seats.get(s.student);
  }

  of(s) {
    return this.hidden ? `Student ${this.seat(s)}` : s.name;
  }
}
