"""The HTTP side: every route with fuzzed bodies, content types, codes, cookies and
cross-site headers, raw requests, and the fuzzer that sends them."""
import socket
from collections import Counter
from urllib.parse import quote

import numpy as np
import requests
from hypothesis import strategies as st

from tests.drawings import png_bytes
from tests.fuzzing.cases import ATTACHMENTS, jany, jvalue, obj, solid_png, strokes
from tests.fuzzing.sockets import Tally, run_strategy


class HttpCase:
    def __init__(self, kind, method, path, cookie_role=None, **kwargs):
        self.kind, self.method, self.path, self.cookie_role, self.kwargs = kind, method, path, cookie_role, kwargs

    def __repr__(self):
        shown = {k: (v[:120] + b"..." if isinstance(v, bytes) and len(v) > 120 else v) for k, v in self.kwargs.items()}
        text = repr(shown)
        return f"{self.method} {self.path} [{self.cookie_role or 'no cookie'}] {text[:300]}"


def http_cases(digits, codes):
    """Every kind of HTTP request: [(family, hypothesis strategy, weight)]."""
    code_text = st.one_of(
        st.sampled_from(codes).flatmap(lambda c: st.sampled_from([c, c.lower(), c[:4] + "-" + c[4:], c[:4] + " " + c[4:]])),
        st.text(alphabet="ABCDEFGHJKMNPQRSTUVWXYZ23456789", min_size=6, max_size=8),
        st.text(max_size=40),
        st.sampled_from(["..", ".", "%00", "a" * 3000, "<script>"]),
    ).map(lambda s: quote(s, safe="") or "x")
    role = st.sampled_from([None, "teacher", "student"])
    content_type = st.sampled_from([
        "application/json", "application/json", "application/json; charset=utf-8", "application/json; charset=utf-16",
        "text/plain", "application/x-www-form-urlencoded", "", "application/vnd.api+json",
    ])
    json_body = st.one_of(
        obj([("strokes", strokes(digits)), ("maps", st.sampled_from(["true", "false", "1", '"yes"']) | jvalue(2))]),
        obj([("strokes", strokes(digits))]),
        jany(),
        st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
    )
    query = st.sampled_from(["", "?maps=1", "?maps=true", "?maps=0", "?maps=%00", "?maps=" + "9" * 5000, "?x=1&maps=1&maps=2"])

    @st.composite
    def api_json(draw):
        path = draw(st.sampled_from(["/api/predict", "/api/saliency"])) + draw(query)
        body = draw(json_body).encode("utf-8", "surrogatepass")
        return HttpCase("http:api json", "POST", path, draw(role), data=body, headers={"Content-Type": draw(content_type)})

    @st.composite
    def api_upload(draw):
        path = draw(st.sampled_from(["/api/predict", "/api/saliency"])) + draw(query)
        field = draw(st.sampled_from(["image", "image", "image", "picture", ""]))
        blob = draw(st.sampled_from(list(HTTP_PICTURES)))
        files = {field or "file": ("x.png", HTTP_PICTURES[blob], draw(st.sampled_from(["image/png", "image/jpeg", "text/plain", ""])))}
        return HttpCase("http:api upload " + blob, "POST", path, draw(role), files=files)

    @st.composite
    def page(draw):
        c = draw(code_text)
        path = draw(st.sampled_from(["/", "/join", f"/join/{c}", f"/class/{c}", f"/class/{c}/teach", f"/class/{c}/qr.svg",
                                     f"/class/{c}/export.npz", f"/class/{c}/export.json", f"/class/{c}/teach?key={c}",
                                     "/static/../webapp/config.py", "/favicon.ico", "/api/predict", "/nope"]))
        return HttpCase("http:page", "GET", path, draw(role))

    @st.composite
    def form(draw):
        path = draw(st.sampled_from(["/join", "/join", "/class"]))
        data = {}
        if draw(st.booleans()):
            data["code"] = draw(st.one_of(st.sampled_from(codes), st.text(max_size=20)))
        if draw(st.booleans()):
            data["name"] = draw(st.one_of(st.text(max_size=50), st.sampled_from(["\u200b\u200b", "Zo\u00eb", "Z\u043e\u0435", "a" * 41, "<b>x</b>"])))
        headers = draw(st.sampled_from([{}, {"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"}, {"Origin": "null"},
                                        {"Sec-Fetch-Site": "same-origin"}]))
        encoded = {k: v.encode("utf-8", "surrogatepass") for k, v in data.items()}
        return HttpCase("http:form " + path, "POST", path, draw(role), data=encoded, headers=headers, allow_redirects=False)

    @st.composite
    def method(draw):
        verb = draw(st.sampled_from(["PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "GET", "POST"]))
        path = draw(st.sampled_from(["/", "/api/predict", "/api/saliency", "/class", "/join", f"/class/{codes[0]}/export.json"]))
        return HttpCase("http:method", verb, path, draw(role), data=draw(st.binary(max_size=50)))

    return [("api json", api_json(), 8), ("api upload", api_upload(), 3), ("pages", page(), 4), ("forms", form(), 3),
            ("methods", method(), 1)]


HTTP_PICTURES = {
    "digit": ATTACHMENTS["png"],
    "junk": ATTACHMENTS["junk"],
    "empty": b"",
    "bomb": ATTACHMENTS["bomb"],
    "1x1": solid_png(1),
    "blank": solid_png(64),
    "wide": png_bytes(np.zeros((1, 3000), np.uint8)),
    "truncated": ATTACHMENTS["png"][: len(ATTACHMENTS["png"]) // 2],
}


def raw_http_cases():
    """Requests no HTTP library writes: (name, bytes)."""
    return [
        ("http:raw garbage", b"\x00\x01\x02\r\n\r\n"),
        ("http:raw bad version", b"GET / HTTP/9.9\r\nHost: x\r\n\r\n"),
        ("http:raw huge header", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: " + b"a" * 100_000 + b"\r\n\r\n"),
        ("http:raw bad content-length", b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: -5\r\n\r\n{}"),
        ("http:raw short body", b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\nConnection: close\r\n\r\n{}"),
        ("http:raw chunked junk", b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"),
        ("http:raw bad multipart", b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 20\r\nConnection: close\r\n\r\n--b\r\nbroken\r\n--b--\r\n"),
        ("http:raw over max length", b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 20000000\r\nConnection: close\r\n\r\n{}"),
    ]


class HttpFuzzer:
    def __init__(self, url, lesson):
        self.url, self.lesson = url, lesson
        self.tally = Tally()
        self.statuses = Counter()

    def run(self, case):
        session = {"teacher": self.lesson.teacher, "student": self.lesson.student}.get(case.cookie_role) or requests.Session()
        try:
            response = session.request(case.method, self.url + case.path, timeout=30, **case.kwargs)
        except requests.RequestException as error:
            self.tally.add(case, "failed", repr(error)[:200])
            return
        status = response.status_code
        self.statuses[status] += 1
        if status >= 500:
            self.tally.add(case, f"HTTP {status}", response.text[:200])
        elif case.path.startswith("/api/") and status in (400, 413, 415, 422) and case.method == "POST" and not is_json_error(response):
            self.tally.add(case, "4xx without JSON error", f"{status} {response.text[:120]}")
        else:
            self.tally.add(case, "answered")

    def run_raw(self, kind, request):
        host, port = self.url.split("//")[1].split(":")
        case = HttpCase(kind, "RAW", "", data=request[:200])
        try:
            with socket.create_connection((host, int(port)), timeout=10) as sock:
                sock.sendall(request)
                sock.shutdown(socket.SHUT_WR)
                reply = b""
                while chunk := sock.recv(65536):
                    reply += chunk
        except OSError as error:  # closing on garbage is an answer too
            self.tally.add(case, "answered" if isinstance(error, ConnectionResetError) else "failed", repr(error))
            return
        line = reply.split(b"\r\n", 1)[0]
        parts = line.split()
        status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
        if status:
            self.statuses[status] += 1
        self.tally.add(case, f"HTTP {status}" if status and status >= 500 else "answered", line.decode("latin-1")[:100])


def is_json_error(response):
    try:
        return isinstance(response.json().get("error"), str)
    except (ValueError, AttributeError):
        return False


def run_http_fuzz(fuzzer, families, examples, seed=0, derandomize=True):
    """About `examples` requests drawn by hypothesis, shared among `families` by weight."""
    total = sum(weight for _, _, weight in families)
    for k, (_, strategy, weight) in enumerate(families):
        run_strategy(fuzzer, strategy, max(1, round(examples * weight / total)), seed + k, derandomize)
