"""Cross-site requests and the headers every response carries: with Flask's test client,
then in a real Chromium, with an attacker's page on another site."""
import http.server
import threading

import pytest

from tests.classroom import join, start_class
from tests.drawings import SEVEN
from webapp import create_app

ELSEWHERE = {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}


@pytest.mark.parametrize(
    "headers",
    [
        ELSEWHERE,
        {"Sec-Fetch-Site": "same-site"},  # a sibling subdomain is another party too
        {"Origin": "https://evil.example"},  # plain http: browsers send no Sec-Fetch-Site
        {"Origin": "null"},  # a sandboxed frame
    ],
)
def test_cross_site_posts_are_refused_with_a_readable_message(app, client, headers):
    klass = start_class(app.test_client())
    for path, form in (("/class", {}), ("/join", {"code": klass, "name": "Mallory"})):
        response = client.post(path, data=form, headers=headers)
        assert response.status_code == 403, path
        assert "sent from another site" in response.get_data(as_text=True)
        assert "Set-Cookie" not in response.headers
    # Nothing was created: the class has no student, and the browser no class.
    assert join(app.test_client(), klass, "Mallory").status_code == 302


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "same-origin", "Origin": "http://localhost"},
        {"Sec-Fetch-Site": "none"},  # typed or bookmarked
        {"Origin": "http://localhost"},  # plain http on a school network
        {},  # a script (curl)
    ],
)
def test_same_site_and_scripted_posts_work(client, headers):
    response = client.post("/class", headers=headers)
    assert response.status_code == 302 and "/teach" in response.headers["Location"]


def test_the_public_address_counts_as_this_site(tmp_path):
    app = create_app({"TESTING": True, "CLASSROOM_DB": str(tmp_path / "c.sqlite3"), "PUBLIC_URL": "https://class.school.example"})
    client = app.test_client()
    assert client.post("/class", headers={"Origin": "https://class.school.example"}).status_code == 302
    assert client.post("/class", headers={"Origin": "https://other.example"}).status_code == 403


def test_the_api_answers_scripts_and_other_pages(client):
    for headers in ({}, ELSEWHERE):
        response = client.post("/api/predict", json={"strokes": SEVEN}, headers=headers)
        assert response.status_code == 200 and response.json["digit"] == 7


def test_every_response_carries_the_security_headers(app, client):
    klass = start_class(client)
    responses = [
        client.get("/"),
        client.get("/join"),
        client.get(f"/class/{klass}/teach"),
        client.get(f"/class/{klass}/qr.svg"),
        client.get("/static/js/main.js"),
        client.get("/no-such-page"),
        client.post("/api/predict", json={"strokes": SEVEN}),
        client.post("/class", headers=ELSEWHERE),
    ]
    for response in responses:
        headers = response.headers
        policy = dict(part.strip().split(" ", 1) for part in headers["Content-Security-Policy"].split(";"))
        assert policy["default-src"] == "'self'" and policy["script-src"] == "'self'"
        assert policy["frame-ancestors"] == "'none'" and policy["object-src"] == "'none'"
        assert policy["connect-src"] == "'self' ws://localhost wss://localhost"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "same-origin"


# In Chromium: an attacker's page on another site (localhost is not 127.0.0.1's site).


@pytest.fixture
def attacker(live_server):
    """A page server on another site, whose pages post a form to the app or frame it."""
    port = live_server.rsplit(":", 1)[1]
    pages = {
        "/post": f'<form method="post" action="{live_server}/class"></form><script>document.forms[0].submit()</script>',
        "/frame": f'<iframe src="{live_server}/" width="800" height="600"></iframe>',
    }

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(pages.get(self.path, "").encode())

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://localhost:{server.server_port}", port
    server.shutdown()


def test_chromium_refuses_another_sites_form_and_frame(browser, live_server, attacker):
    site, _ = attacker
    context = browser.new_context()
    page = context.new_page()
    page.goto(site + "/post")
    page.wait_for_url(live_server + "/class")
    assert "sent from another site" in page.inner_text("main")
    assert not [c for c in context.cookies() if c["name"].startswith("cnnview_teacher_")]  # no class started

    page.goto(site + "/frame", wait_until="load")  # the frame's document included
    framed = page.frames[1]
    assert framed.query_selector("#start-class") is None  # the app did not render inside the frame
    context.close()
