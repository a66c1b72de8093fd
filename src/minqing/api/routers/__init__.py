"""One router per area: auth, meta (reference data), cases (citizen side), staff."""

from ninja.responses import codes_4xx

from minqing.api.schemas import ErrorOut

# Every operation documents its failures with the same body.
ERRORS = {codes_4xx | {413}: ErrorOut}
