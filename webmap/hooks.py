"""The app's request hooks, each phase as one chain.

Flask dispatches every registered hook on its own (``ensure_sync`` asks each
time whether it is a coroutine function), about 2 us a hook; five hooks ran on
every request, a single lookup included.  Modules register here instead, in
the order :func:`webmap.create_app` sets them up, and Flask sees one hook per
phase with the same meaning:

- before a request, the hooks run in order until one returns an answer;
- after it, they run in reverse order of registration, as Flask runs its own.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, Response

_BEFORE = "pingan_before_request"
_AFTER = "pingan_after_request"


def before_request(app: Flask, hook: Callable[[], object]) -> None:
    """Run ``hook`` before every request, after those registered earlier."""
    chain = app.extensions.get(_BEFORE)
    if chain is None:
        chain = app.extensions[_BEFORE] = []

        def before():
            for each in chain:
                answer = each()
                if answer is not None:
                    return answer
            return None

        app.before_request(before)
    chain.append(hook)


def after_request(app: Flask, hook: Callable[[Response], Response]) -> None:
    """Run ``hook`` on every response, before those registered earlier."""
    chain = app.extensions.get(_AFTER)
    if chain is None:
        chain = app.extensions[_AFTER] = []

        def after(response: Response) -> Response:
            for each in reversed(chain):
                response = each(response)
            return response

        app.after_request(after)
    chain.append(hook)
