"""Signed, expiring links to a job's status page: the summary e-mail's button opens the page
without a token.

A link is `/status/JOB?expires=UNIX&sig=HMAC`: the HMAC-SHA256, under the registry's secret
(`registry.tokens.secret`), of the job id and the expiry. It opens that one job's page until
then, and nothing else; changing either part breaks the signature.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

LINK_SECRET = "status-links"  # the name of the signing key in the registry's secrets


def signature(key: bytes, job_id: str, expires: int) -> str:
    mac = hmac.new(key, f"{job_id}\n{expires}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode("ascii").rstrip("=")


def status_path(key: bytes, job_id: str, hours: int, now: float | None = None) -> str:
    """The signed path (and query) of the job's status page, valid for `hours`."""
    expires = int(now if now is not None else time.time()) + hours * 3600
    return f"/status/{job_id}?expires={expires}&sig={signature(key, job_id, expires)}"


def valid(key: bytes, job_id: str, expires: int, sig: str, now: float | None = None) -> bool:
    """The link is the one signed for this job and has not expired."""
    if expires < (now if now is not None else time.time()):
        return False
    return hmac.compare_digest(signature(key, job_id, expires), sig)
