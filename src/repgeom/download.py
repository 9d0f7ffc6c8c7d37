"""Fetch a file over HTTP(S) with an md5 check; nothing reaches the target path unless it is complete and verified.

Failures come in two kinds, because the workflow treats them differently:
:class:`Unreachable` (no connection could be made: DNS, refused, timeout
before any answer) may be replaced by local training; :class:`DownloadError`
(HTTP error status, truncated body, md5 mismatch) is always an error.
"""

import hashlib
import http.client
import os
import re
import tempfile
import urllib.error
import urllib.request

from .errors import DownloadError  # noqa: F401  (defined there: steps catch it without importing this)

CHUNK = 1 << 20


class Unreachable(DownloadError):
    """No connection to the server could be made."""


def md5sum(path):
    """Hex md5 of a file."""
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def _open(url, timeout):
    req = urllib.request.Request(url, headers={"User-Agent": "repgeom"})
    try:
        return urllib.request.urlopen(req, timeout=timeout)
    except urllib.error.HTTPError as err:
        raise DownloadError(f"{url}: HTTP {err.code} {err.reason}") from None
    except (urllib.error.URLError, OSError) as err:  # DNS, refused, timeout, TLS...
        raise Unreachable(f"{url}: unreachable ({getattr(err, 'reason', err)})") from None


def _copy(url, resp, out, progress):
    expected = resp.headers.get("Content-Length")
    expected = int(expected) if expected is not None else None
    h = hashlib.md5()
    got = 0
    try:
        while True:
            block = resp.read(CHUNK)
            if not block:
                break
            out.write(block)
            h.update(block)
            got += len(block)
            if progress:
                progress(got, expected)
    except (http.client.IncompleteRead, OSError) as err:
        raise DownloadError(f"{url}: transfer broke off after {got} bytes ({err!r})") from None
    if expected is not None and got != expected:
        raise DownloadError(f"{url}: truncated body ({got} of {expected} bytes)")
    return h.hexdigest(), got


def sha256sum(path):
    """Hex sha256 of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


TORCH_HASH = re.compile(r"-([a-f0-9]+)\.")  # torch hub's file names carry a sha256 prefix: name-<prefix>.pth


def torch_hub_prefix(url):
    """The sha256 prefix torch hub file names carry (``alexnet-owt-7be5be79.pth`` -> ``7be5be79``), or None."""
    m = TORCH_HASH.search(os.path.basename(url))
    return m.group(1) if m else None


def fetch(url, dest, md5=None, timeout=15.0, progress=None, sha256_prefix=None):
    """Download ``url`` to ``dest`` if its md5 is ``md5`` (or its sha256 starts with ``sha256_prefix``).

    Returns (md5, size).  The body streams into a temp file beside ``dest`` and
    is renamed into place only after the length (when the server sent one) and
    the hash both check out.
    """
    if not md5 and not sha256_prefix:
        raise ValueError(f"no md5 given for {url}: refusing to download an unverifiable file")
    folder = os.path.dirname(os.path.abspath(dest))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".part-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as out:
            resp = _open(url, timeout)
            with resp:
                digest, size = _copy(url, resp, out, progress)
        if md5 and digest != md5.lower():
            raise DownloadError(f"{url}: md5 mismatch (expected {md5.lower()}, got {digest}); file discarded")
        if sha256_prefix:
            sha = sha256sum(tmp)
            if not sha.startswith(sha256_prefix.lower()):
                raise DownloadError(f"{url}: sha256 mismatch (expected {sha256_prefix}..., got {sha}); "
                                    f"file discarded")
        os.replace(tmp, dest)
        tmp = None
        return digest, size
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
