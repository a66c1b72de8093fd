"""Settings for bench/api_intake.py: the project's settings, a bench URLconf and the API rate limits raised.

Used only by the benchmark's gunicorn (DJANGO_SETTINGS_MODULE=bench.bench_settings, repository root on
PYTHONPATH). Everything else (middleware, database, caches, storage, tasks backend) is the project's.
"""

from minqing.settings import *  # noqa: F403

# The project's URLs plus /bench/bare/ (see bench/bench_urls.py).
ROOT_URLCONF = "bench.bench_urls"

# The API throttles (minqing.api.throttles) would answer 429 long before the end of a run:
# 300/min per user and 20 submissions per hour per citizen by default. Raised out of reach.
# (SMS limits do not apply: the bench authenticates with Bearer tokens, not SMS login.)
API_RATE_LIMITS = {"default": "1000000/m", "auth": "1000000/m", "submit": "1000000/h"}
