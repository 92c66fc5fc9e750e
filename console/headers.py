"""The security headers of every console response (``app.SecurityHeaders`` adds them where a
response sets none of its own): a Content-Security-Policy with no script at all, no framing of
the console, no referrer, no caching. A page that frames a sandboxed report widens ``CSP`` by
``frame-src 'self'`` for itself only."""

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}
FRAMING_CSP = f"{CSP}; frame-src 'self'"
