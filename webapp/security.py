"""What a browser is told and checked for on every request: forms posted from another site
are refused (cross-site request forgery), and every response carries a Content-Security-
Policy and the headers that keep the pages out of other sites' frames and guesses.

No dependency: browsers say where a request comes from (Sec-Fetch-Site, Origin), and a
request from a script (curl) says nothing, which is fine for the stateless /api.
"""
from urllib.parse import urlsplit

from flask import current_app, render_template, request

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Nothing here keeps state or reads cookies: scripts, and pages elsewhere, may call it.
STATELESS_BLUEPRINTS = frozenset({"api"})


def init_app(app):
    app.before_request(refuse_cross_site)
    app.after_request(add_headers)


def refuse_cross_site():
    if request.method in SAFE_METHODS or request.blueprint in STATELESS_BLUEPRINTS:
        return None
    if same_site_request():
        return None
    message = (
        "This form was sent from another site, so it was refused: a page elsewhere cannot start a class "
        "or join one for you. Open this app at its own address and try again."
    )
    return render_template("message.html", title="Refused", message=message), 403


def same_site_request() -> bool:
    """Whether a state-changing request comes from this app's own pages (or from no page:
    a bookmark, a script). Browsers send Sec-Fetch-Site only to secure origins (https,
    localhost); over plain http on a school network, Origin says the same."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return fetch_site in ("same-origin", "none")
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # not a browser, or one too old to say: nothing to go on, as before
    return urlsplit(origin).netloc in own_hosts()


def own_hosts() -> set:
    hosts = {request.host}
    public = current_app.config.get("PUBLIC_URL")
    if public:
        hosts.add(urlsplit(public).netloc)
    return hosts


def content_security_policy() -> str:
    # connect-src: the Socket.IO WebSocket, named with its scheme (CSP 'self' did not cover
    # ws: in older browsers). Images: the QR code and favicon are files; thumbnails and maps
    # are drawn on canvases. JSON data blocks (<script type="application/json">) are never
    # run, so no inline script is allowed at all.
    host = request.host
    return "; ".join([
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        f"connect-src 'self' ws://{host} wss://{host}",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


def add_headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", content_security_policy())
    headers.setdefault("X-Frame-Options", "DENY")  # frame-ancestors, for browsers before CSP 2
    headers.setdefault("X-Content-Type-Options", "nosniff")
    # The teacher's private link carries its key: no address of ours goes to another site.
    # Not "no-referrer": with it browsers send "Origin: null" on the app's own form posts,
    # and over plain http (no Sec-Fetch-Site) those could not be told from a forgery.
    headers.setdefault("Referrer-Policy", "same-origin")
    return response
