"""gunicorn settings for `make run`; HOST, PORT and WEB_CONCURRENCY come from the environment or .env."""

import environ

env = environ.Env()
environ.Env.read_env(".env")

bind = f"{env.str('HOST', default='127.0.0.1')}:{env.int('PORT', default=8000)}"
workers = env.int("WEB_CONCURRENCY", default=2)
worker_class = env.str("GUNICORN_WORKER_CLASS", default="sync")
threads = env.int("GUNICORN_THREADS", default=1)
# Gateways and services keep connections open between calls (gthread workers honour keep-alive).
keepalive = env.int("GUNICORN_KEEPALIVE", default=5)
wsgi_app = "portal.wsgi:application"
# The access log carries method, path, status and timing, never request headers (credentials).
# ACCESS_LOG=off turns it off (the benchmark does).
accesslog = None if env.str("ACCESS_LOG", default="-") == "off" else env.str("ACCESS_LOG", default="-")
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms'
