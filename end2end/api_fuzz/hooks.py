"""Schemathesis hooks for fuzzing Hitch's API (loaded through SCHEMATHESIS_HOOKS).

A generated `Idempotency-Key` repeats while Hypothesis shrinks a failing sequence, and
Hitch then (rightly) replays the first answer, which names a resource a later step
deleted. Each call gets a fresh key instead, so the idempotency layer is still in every
POST's path but never replays across test cases.
"""
import uuid

import schemathesis


@schemathesis.hook
def before_call(context, case, **kwargs):
    if case.headers and "Idempotency-Key" in case.headers:
        case.headers["Idempotency-Key"] = f"fuzz-{uuid.uuid4()}"
