"""The classroom's Socket.IO events. A page joins its class once connected (the teacher's
or a student's rights come from the cookies set when the class was started or joined);
after that every event acts on that class only, and only a teacher may act for the class."""
from flask import request
from flask_socketio import close_room, join_room, leave_room

from model.preprocess import EmptyDrawing, PreprocessError, strokes_to_input

from .. import frames
from ..events import BadMessage, Gate, parse_canvas_size
from ..models import UnknownModel, get_models
from . import Classroom, JoinRefused
from .live import Member, class_room, teacher_room


def register(socketio, app, classroom: Classroom, gate: Gate):
    store, roster = classroom.store, classroom.roster
    models = get_models(app)

    def member(role=None) -> Member:
        """The sender's membership, re-read from the store (the class may have been closed)."""
        found = roster.member(request.sid)
        if found is None:
            raise BadMessage("join a class first")
        if role == "teacher" and found.role != "teacher":
            raise BadMessage("only the teacher can do that")
        if role == "student" and found.role != "student":
            raise BadMessage("only students send drawings to the class")
        klass = store.find_class(found.klass.code)
        if klass is None:
            raise BadMessage("this class has ended")
        return Member(klass, found.role, found.student)

    @socketio.on("join_class")
    def on_join(message):
        gate.check(message, ("code", "role"))
        role = message.get("role")
        if role not in ("teacher", "student"):
            raise BadMessage("role must be 'teacher' or 'student'")
        try:
            klass = classroom.find_class(message.get("code", ""))
        except JoinRefused as refused:
            raise BadMessage(str(refused)) from None
        student = None
        if role == "teacher" and not classroom.teacher_of(klass):
            raise BadMessage("only the teacher who started this class can open its teacher view")
        if role == "student":
            student = classroom.student_of(klass)
            if student is None:
                raise BadMessage(f"join the class first, at /join/{klass.code}")
        leave_current()
        roster.join(request.sid, Member(klass, role, student))
        join_room(class_room(klass.id))
        if role == "teacher":
            join_room(teacher_room(klass.id))
        following, last = roster.following(klass.id)
        state = {"code": klass.code, "role": role, "closed": klass.closed, "following": following,
                 "model": models.get(classroom.model_of(klass)).name}
        if role == "teacher":
            state.update(packed(store.submissions(klass)), stats=store.stats(klass), **classroom.counts(klass))
        else:
            state.update(packed(store.submissions(klass, student)), name=student.name)
        socketio.emit("class_state", state, to=request.sid)
        if role == "student":
            roster.announce(klass.id, classroom.counts(klass))
            if following and last is not None:  # a late joiner sees what the teacher is drawing now
                roster.flow.send(request.sid, "follow_frame", last)  # in the student's window, as every follow frame

    def leave_current():
        previous = roster.leave(request.sid)
        if previous is not None:
            leave_room(class_room(previous.klass.id))
            leave_room(teacher_room(previous.klass.id))

    @socketio.on("submit")
    def on_submit(message):
        gate.check(message, ("strokes", "width", "height", "intended"))
        me = member("student")
        if me.klass.closed:
            raise BadMessage("the class is closed to new drawings")
        intended = message.get("intended")
        if isinstance(intended, bool) or not isinstance(intended, int) or not 0 <= intended <= 9:
            raise BadMessage("intended must be the digit you meant, 0 to 9")
        limit = app.config["MAX_SUBMISSIONS_PER_STUDENT"]
        if store.count_submissions(me.student) >= limit:
            raise BadMessage(f"you have sent {limit} drawings, the most one student can send to a class")
        parse_canvas_size(message)
        model = models.get(classroom.model_of(me.klass))  # the server's default, unless the teacher switched the class
        try:
            picture = strokes_to_input(message.get("strokes"))  # the gallery's 28x28 thumbnail and the export
            result = read(model, picture, message["strokes"])
        except EmptyDrawing:
            raise BadMessage("draw a digit before sending it") from None
        except PreprocessError as error:
            raise BadMessage(str(error)) from None
        drawing = {"strokes": tidy_strokes(message["strokes"]), "width": message["width"], "height": message["height"]}
        submission = store.add_submission(me.student, drawing, picture, intended, result.probabilities, model.name, result.unlike)
        socketio.emit("submitted", submission, to=request.sid)
        socketio.emit("submission", {"submission": submission, "stats": store.stats(me.klass)}, to=teacher_room(me.klass.id))

    @socketio.on("spotlight")
    def on_spotlight(message):
        gate.check(message, ("id",))
        me = member("teacher")
        submission_id = message.get("id")
        found = store.submission_drawing(me.klass.id, submission_id) if valid_id(submission_id) else None
        if found is None:
            raise BadMessage("there is no such drawing in this class")
        frame = frames.encode(0, spotlight_result(*found))
        # To every teacher page: the projector shows what the teacher picked on a laptop.
        socketio.emit(
            "spotlight", {"submission": store.submission(me.klass.id, submission_id), "frame": frame},
            to=teacher_room(me.klass.id),
        )

    def spotlight_result(picture, strokes, model_name):
        """The drawing through the model that read it (the default, if that one is gone):
        from its stored picture when the model reads 28x28 grey, else from its strokes."""
        try:
            model = models.get(model_name)
        except UnknownModel:
            model = models.get()
        return read(model, picture, strokes)

    @socketio.on("follow")
    def on_follow(message):
        gate.check(message, ("on",))
        me = member("teacher")
        on = message.get("on") is True
        roster.set_following(me.klass.id, on)
        socketio.emit("follow", {"on": on}, to=class_room(me.klass.id))

    @socketio.on("close_class")
    def on_close(message):
        gate.check(message, ("closed",))
        me = member("teacher")
        klass = store.set_closed(me.klass, message.get("closed") is True)
        socketio.emit("class_closed", {"closed": klass.closed}, to=class_room(klass.id))

    @socketio.on("delete_class")
    def on_delete(message):
        gate.check(message, ("code",))
        me = member("teacher")
        if message.get("code") != me.klass.code:  # the page asks the teacher to confirm with the code
            raise BadMessage("to delete the class, confirm with its code")
        store.delete_class(me.klass)
        socketio.emit("class_deleted", {"code": me.klass.code}, to=class_room(me.klass.id))
        roster.forget_class(me.klass.id)
        close_room(class_room(me.klass.id))
        close_room(teacher_room(me.klass.id))


def read(model, picture, strokes):
    """`model`'s reading of a drawing: from its 28x28 MNIST-style picture when that is the
    model's input, else prepared from the strokes at the model's own input size."""
    if tuple(model.description.input_shape) == (28, 28, 1):
        return model.service.run(picture)
    return model.service.from_strokes(strokes)


def packed(submissions) -> dict:
    """Submissions with all their thumbnails in one binary attachment, in the same order
    (`thumbnails[784 * i : 784 * (i + 1)]` is submission i's): the browser's Socket.IO
    client refuses a message with more than 10 attachments, and a class has hundreds."""
    thumbnails = b"".join(s.pop("thumbnail") for s in submissions)
    return {"submissions": submissions, "thumbnails": thumbnails}


def valid_id(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**53


def tidy_strokes(strokes):
    """Validated strokes as plain [x, y] lists, one decimal: what is stored and exported."""
    return [[[round(float(x), 1), round(float(y), 1)] for x, y in stroke] for stroke in strokes]
