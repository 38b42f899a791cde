"""The classroom's pages: start a class, join one, the teacher's and the students' views,
the QR code and the exports."""
import io
import ipaddress
import json
import socket
import time
from urllib.parse import urlsplit

import numpy as np
import segno
from flask import Blueprint, Response, redirect, render_template, request, send_file, url_for

from ..models import get_models
from ..views import page_context
from . import STUDENT_COOKIE, TEACHER_COOKIE, JoinRefused, get_classroom
from .store import NameTaken, grouped

bp = Blueprint("classroom", __name__)
bp.add_app_template_filter(grouped, "grouped")
COOKIE_DAYS = 90  # a teacher reopens the class next week from the same browser


def set_cookie(response, name, token):
    response.set_cookie(
        name, token, max_age=COOKIE_DAYS * 86400, httponly=True, samesite="Lax", secure=request.is_secure
    )
    return response


def message_page(title, message, status):
    return render_template("message.html", title=title, message=message), status


@bp.errorhandler(JoinRefused)
def refused(error):
    page, status = message_page("Classroom", str(error)[:1].upper() + str(error)[1:] + ".", error.status)
    return page, status, error.headers


@bp.post("/class")
def start():
    klass, token = get_classroom().store.create_class()
    response = redirect(url_for("classroom.teach", code=klass.code))
    return set_cookie(response, TEACHER_COOKIE + klass.code, token)


@bp.get("/class/<code>/teach")
def teach(code):
    classroom = get_classroom()
    klass = classroom.find_class(code)
    key = request.args.get("key")
    if key is not None:  # the private link: keep its secret in a cookie, out of the address bar
        if not classroom.store.is_teacher(klass, key):
            return message_page("Wrong link", "That private link does not open this class.", 403)
        return set_cookie(redirect(url_for("classroom.teach", code=klass.code)), TEACHER_COOKIE + klass.code, key)
    if not classroom.teacher_of(klass):
        return message_page(
            "Teacher's view",
            f"Only the teacher who started class {klass.code} can open this view: from the same browser, or with "
            "the private link shown on the teacher's screen. Students join at " + url_for("classroom.join_form", code=klass.code) + ".",
            403,
        )
    join_url = public_base() + url_for("classroom.join_form", code=klass.code)
    private_url = public_base() + url_for("classroom.teach", code=klass.code, key=request.cookies[TEACHER_COOKIE + klass.code])
    return render_template(
        "teacher.html", klass=klass, join_url=join_url, private_url=private_url, lan_hint=lan_hint(), **page_context()
    )


@bp.get("/join")
@bp.get("/join/<code>")
def join_form(code=""):
    classroom = get_classroom()
    if code:
        try:
            klass = classroom.find_class(code)
        except JoinRefused as refused:
            return render_template("join.html", code=code[:12], error=str(refused)), refused.status, refused.headers
        if classroom.student_of(klass):  # already in: straight back to drawing
            return redirect(url_for("classroom.student", code=klass.code))
        code = klass.code
    return render_template("join.html", code=code, error=None)


@bp.post("/join")
def join():
    classroom = get_classroom()
    code, raw_name = request.form.get("code", ""), request.form.get("name", "")
    try:
        klass = classroom.find_class(code)
        if klass.closed:
            raise JoinRefused("this class is closed: ask your teacher", 403)
        name = classroom.clean_name(raw_name)
        if classroom.store.student_count(klass) >= classroom.config["MAX_STUDENTS_PER_CLASS"]:
            raise JoinRefused("this class is full", 403)
        try:
            student, token = classroom.store.add_student(klass, name)
        except NameTaken as taken:
            raise JoinRefused(name_taken(name, taken.args[0]), 409) from None
    except JoinRefused as refused:
        return render_template("join.html", code=code[:12], name=raw_name[:100], error=str(refused)), refused.status, refused.headers
    classroom.roster.announce(klass.id, classroom.counts(klass))
    response = redirect(url_for("classroom.student", code=klass.code))
    return set_cookie(response, STUDENT_COOKIE + klass.code, token)


def name_taken(name, existing) -> str:
    if existing == name:
        return f"someone in this class is already called {name}: add an initial"
    return f"someone in this class is already called {existing}, which reads the same as {name}: add an initial"


@bp.get("/class/<code>")
def student(code):
    classroom = get_classroom()
    klass = classroom.find_class(code)
    me = classroom.student_of(klass)
    if me is None:
        return redirect(url_for("classroom.join_form", code=klass.code))
    # The model the class reads with: the default, or the one its teacher switched it to.
    model = get_models().get(classroom.model_of(klass))
    return render_template("student.html", klass=klass, student=me, class_model=classroom.model_of(klass), **page_context(model))


@bp.get("/class/<code>/qr.svg")
def qr_code(code):
    klass = get_classroom().find_class(code)
    qr = segno.make(public_base() + url_for("classroom.join_form", code=klass.code), error="m")
    svg = io.BytesIO()
    # No fixed size (viewBox only): the page scales it to fill its box, crisp at any size.
    qr.save(svg, kind="svg", border=2, omitsize=True, xmldecl=False, title=f"Join class {klass.code}")
    return Response(svg.getvalue(), mimetype="image/svg+xml")


def teacher_class(code):
    """The class, if the request comes from its teacher; JoinRefused otherwise."""
    classroom = get_classroom()
    klass = classroom.find_class(code)
    if not classroom.teacher_of(klass):
        raise JoinRefused("only the class's teacher can do that", 403)
    return classroom, klass


@bp.get("/class/<code>/export.npz")
def export_npz(code):
    """The class's drawings as a dataset, MNIST-style: uint8 28x28 images, white on black."""
    classroom, klass = teacher_class(code)
    images, records = classroom.store.export(klass)
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer,
        images=np.clip(np.rint(images * 255), 0, 255).astype(np.uint8),
        labels=np.array([r["intended"] for r in records], np.uint8),  # what the student meant
        predicted=np.array([r["predicted"] for r in records], np.uint8),
        ids=np.array([r["id"] for r in records], np.int64),  # the same ids as in the JSON export
        # The novelty verdict: 1 unlike the training digits, 0 like them, -1 not known
        # (stored before verdicts were kept, or read by a model without statistics).
        unlike=np.array([-1 if r["unlike"] is None else int(r["unlike"]) for r in records], np.int8),
    )
    buffer.seek(0)
    return send_file(buffer, mimetype="application/octet-stream", as_attachment=True, download_name=f"class-{klass.code}.npz")


@bp.get("/class/<code>/export.json")
def export_json(code):
    """Every drawing's strokes (canvas pixels) with the student's name, intent and prediction."""
    classroom, klass = teacher_class(code)
    _, records = classroom.store.export(klass)
    body = json.dumps({"class": klass.code, "exported": time.time(), "submissions": records}, separators=(",", ":"))
    return Response(
        body, mimetype="application/json",
        headers={"Content-Disposition": f"attachment; filename=class-{klass.code}-strokes.json"},
    )


def public_base() -> str:
    """Where students reach this server: PUBLIC_URL if set, else the address the teacher used."""
    return (get_classroom().config["PUBLIC_URL"] or request.host_url).rstrip("/")


def lan_hint():
    """When the teacher opened the app as localhost, phones cannot use that address: the
    address of this computer on the local network, to suggest instead (None if not needed)."""
    if get_classroom().config["PUBLIC_URL"]:
        return None
    host = urlsplit(request.host_url).hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        return None
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))  # UDP: picks the outgoing interface, sends nothing
            address = probe.getsockname()[0]
        except OSError:
            address = None
    port = urlsplit(request.host_url).port
    return {"address": f"http://{address}:{port}" if address and port else None}
