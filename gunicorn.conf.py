"""Gunicorn settings, read from the working directory by `gunicorn floniks.wsgi`."""

import os

from core.net import trusted_networks
from floniks.env import env_int

# One sync worker per core by default. On a box that also runs PostgreSQL, more workers
# only fight over the same cores: bench/p4_serving.py served ~15 % more requests per second
# with 2 workers than with 4 on 2 cores. Raise WEB_CONCURRENCY where the database runs elsewhere.
workers = env_int("WEB_CONCURRENCY", os.cpu_count() or 1, minimum=1)

# A request still running after this long is killed with its worker (a sync worker serves one
# request at a time, so a stuck one blocks that worker). Every request Floniks serves is bounded
# well below this: generation runs in Celery, uploads are capped at 20 MB.
timeout = env_int("GUNICORN_TIMEOUT", 30, minimum=1)
# On SIGTERM (a deploy, `docker compose stop`) workers finish the requests in hand for this long.
# Keep it below the container runtime's stop grace period (compose: stop_grace_period).
graceful_timeout = env_int("GUNICORN_GRACEFUL_TIMEOUT", 20, minimum=1)
keepalive = 5  # behind a load balancer that reuses connections; its idle timeout should be longer

# Access log to stdout, with the client as the proxy reported it (X-Forwarded-For) beside the peer address.
accesslog = "-"
access_log_format = '%(h)s forwarded-for="%({x-forwarded-for}i)s" %(t)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s"'


# Only requests from the proxies in TRUSTED_PROXIES (comma-separated IPs or CIDR networks; none by
# default) may set X-Forwarded-Proto and friends: parsed by the same function as Django's setting, so
# gunicorn and the sign-in limiter always agree on whom to believe.
forwarded_allow_ips = ",".join(
    str(n) for n in trusted_networks("TRUSTED_PROXIES", os.environ.get("TRUSTED_PROXIES", ""))
)
