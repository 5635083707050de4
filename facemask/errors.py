"""One exception type for everything a user can get wrong; the CLI prints it as one line."""
from __future__ import annotations


class FacemaskError(Exception):
    """A user-facing failure: bad input, missing model, dead camera. Printed as `error: ...`."""
