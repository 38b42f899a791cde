"""Helpers for classroom tests: start a class and join it over HTTP, then speak Socket.IO
with the cookies those set, as a browser would."""
import time

from tests.drawings import SEVEN
from webapp import socketio


def start_class(http):
    """POST /class with a Flask test client; returns the class code (the cookie stays in `http`)."""
    response = http.post("/class")
    assert response.status_code == 302, response.data
    return response.headers["Location"].rstrip("/").split("/")[-2]


def cookie_header(session):
    """A requests session's cookies as a Cookie header, for a python-socketio client."""
    return "; ".join(f"{name}={value}" for name, value in session.cookies.items())


def join(http, code, name):
    response = http.post("/join", data={"code": code, "name": name})
    assert response.status_code == 302, response.data
    return response


def connect(app, http, code, role):
    """A Socket.IO test client with `http`'s cookies, joined to class `code` as `role`."""
    client = socketio.test_client(app, flask_test_client=http)
    client.emit("join_class", {"code": code, "role": role})
    (state,) = wait_for_events(client, "class_state")
    return client, state


def received(client):
    """New events, after any that an earlier wait set aside."""
    events = getattr(client, "backlog", []) + client.get_received()
    client.backlog = []
    return events


def wait_for_events(client, name, count=1, timeout=10.0):
    """The first `count` payloads of event `name`; other events stay for later calls."""
    found, others, deadline = [], [], time.time() + timeout
    while len(found) < count:
        for event in received(client):
            if event["name"] == name and len(found) < count:
                found.append(event["args"][0])
            else:
                others.append(event)
        if time.time() > deadline:
            client.backlog = others
            raise AssertionError(f"expected {count} {name!r}, got {len(found)}")
        time.sleep(0.002)
    client.backlog = others
    return found


def drain(client, settle=0.1):
    """Everything a client received, once nothing more has arrived for `settle` seconds."""
    events = received(client)
    while True:
        time.sleep(settle)
        more = client.get_received()
        if not more:
            return events
        events += more


def submission(intended, strokes=SEVEN):
    return {"strokes": strokes, "width": 400, "height": 400, "intended": intended}


def student(app, code, name):
    """A student who joined class `code` and opened the page: (http, socket client, state)."""
    http = app.test_client()
    join(http, code, name)
    client, state = connect(app, http, code, "student")
    return http, client, state


def errors(client):
    return [e["args"][0]["error"] for e in drain(client) if e["name"] == "error_message"]
