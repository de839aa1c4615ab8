"""A Lambda handler module's first import, without garbage collection while it loads.

Importing a handler creates a few hundred thousand objects that live as long as the process (modules,
classes, pydantic schemas, the resolver's routes), and none of them is garbage. CPython's cyclic
collector still runs every few hundred allocations and walks them all, again and again: 10–15 % of the
send and agree functions' import (``make bench``, "Lambda handler import"), paid by the recipient who
clicks a link into a cold function. So a handler imports this module first — its import switches the
collector off — and calls :func:`finished` once its own module-level work is done.

On Lambda, :func:`finished` also freezes what the import made (:func:`gc.freeze`): each warm
invocation's collections then leave those objects alone. Nowhere else: the local runtime and the tests
load handler modules many times in one long process, where freezing would keep every cycle alive.
"""

from __future__ import annotations

import gc
import os

gc.disable()


def finished() -> None:
    """The handler module has loaded: collect again (frozen first, on Lambda)."""
    if os.environ.get("LAMBDA_TASK_ROOT"):
        gc.freeze()
    gc.enable()
