"""Gunicorn settings, read from the working directory by `gunicorn floniks.wsgi`."""

import os

from floniks.env import env_int

# One sync worker per core by default. On a box that also runs PostgreSQL, more workers
# only fight over the same cores: bench/p4_serving.py served ~15 % more requests per second
# with 2 workers than with 4 on 2 cores. Raise WEB_CONCURRENCY where the database runs elsewhere.
workers = env_int("WEB_CONCURRENCY", os.cpu_count() or 1, minimum=1)
