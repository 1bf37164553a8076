"""Hooks for the schemathesis run of scripts/check-openapi.

The run uses one admin user and one API token holding every scope. Cases may
aim at any operation, including those that would end that credential or its
user (delete, deactivate, rotate then revoke the previous secret, renew into
an expiry, disable or delete the user). Such a case is not dropped: its `id`
is swapped for a random one, so the operation is still called and answers
404, and the rest of the run keeps a working credential.

The run's worker threads also take turns at `ast.parse` (see
`_one_parse_at_a_time`).
"""

import ast
import functools
import os
import threading
import uuid

import schemathesis


def _one_parse_at_a_time(parse):
    """`ast.parse` behind a lock shared by the run's worker threads.

    CPython 3.11 keeps the counter with which the AST constructor checks its
    recursion in the interpreter's state, shared by every thread. If another
    thread parses while one thread's parse is under way (the way in seems to
    be a garbage collection that runs Python code mid-parse, letting the other
    thread run), the first parse fails with "SystemError: AST constructor
    recursion depth mismatch", as one run of this check did. Hypothesis
    parses source files to describe the lambdas of schemathesis's filters, so
    with two workers the run could end on that error of the tool's, not on
    anything the server did. Reentrant, so that a parse started by such a
    collection on the same thread does not wait for itself.
    """
    lock = threading.RLock()

    @functools.wraps(parse)
    def locked(*args, **kwargs):
        with lock:
            return parse(*args, **kwargs)

    return locked


ast.parse = _one_parse_at_a_time(ast.parse)

PROTECTED = {
    value
    for value in (os.environ.get("KW_CHECK_TOKEN_ID"), os.environ.get("KW_CHECK_USER_ID"))
    if value
}


@schemathesis.hook
def before_call(context, case, **kwargs):
    parameters = case.path_parameters or {}
    if str(parameters.get("id", "")).strip().lower() in PROTECTED:
        parameters["id"] = str(uuid.uuid4())
