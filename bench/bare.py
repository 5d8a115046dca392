"""A WSGI callable that does nothing, to measure what gunicorn and the sockets cost alone (the
stack's limit, against which docs/performance.md sets the do-nothing view and /v1/verify):

    POOL=api ACCESS_LOG=off .venv/bin/gunicorn --config gunicorn.conf.py bench.bare:application
"""


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
    return [b"ok"]
