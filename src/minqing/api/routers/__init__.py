"""One router per area: auth, meta (reference data), cases (citizen side), staff."""

from minqing.api.schemas import ErrorOut

# Every operation documents its failures with the same body:
# 400 malformed body, 401 no valid token, 403 not permitted, 404 missing or outside the remit,
# 409 refused transition or stale version, 413 body too large, 422 invalid input, 429 rate limited.
ERROR_CODES = frozenset({400, 401, 403, 404, 409, 413, 422, 429})
ERRORS = {ERROR_CODES: ErrorOut}
