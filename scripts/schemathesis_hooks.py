"""Hooks for the schemathesis run of scripts/check-openapi.

The run uses one admin user and one API token holding every scope. Cases may
aim at any operation, including those that would end that credential or its
user (delete, deactivate, rotate then revoke the previous secret, renew into
an expiry, disable or delete the user). Such a case is not dropped: its `id`
is swapped for a random one, so the operation is still called and answers
404, and the rest of the run keeps a working credential.
"""

import os
import uuid

import schemathesis

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
