"""The registry's manufacturer/model catalogue: Google Play's list fetched into it, and the
catalogue `check` reads from it.

The packaged list (Android Enterprise Recommended devices, about 1,800 models) leaves out
common phones such as the Galaxy S21 (SM-G991B); Google Play's published "supported devices"
list has some 38,000 models. ztbulk never ships that list (Google publishes it without a
licence to redistribute): `catalog fetch` downloads it from Google into the user's registry.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from ztbulk.errors import CatalogError, TransientError, UsageError
from ztbulk.registry.db import open_when_free
from ztbulk.registry.service import RegistryService
from ztbulk.settings import Settings
from ztbulk.validate.catalog import Catalog

# Google's list is 3.4 MB (2025); a response many times that is not the list.
MAX_CATALOG_BYTES = 64 * 1024 * 1024
TIMEOUT_S = 60.0
# How long `check` waits for a worker that holds the registry (workers hold it briefly).
CHECK_WAIT_S = 10.0


def download(url: str, max_bytes: int = MAX_CATALOG_BYTES) -> bytes:
    """The body at `url` (http or https), refused past `max_bytes`."""
    if not url.startswith(("https://", "http://")):
        raise UsageError(f"{url!r} is not an http:// or https:// address.")
    request = urllib.request.Request(url, headers={"User-Agent": "ztbulk catalog fetch"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            body: bytes = response.read(max_bytes + 1)
    except urllib.error.HTTPError as exc:
        raise CatalogError(f"{url} answered HTTP {exc.code} ({exc.reason}).") from None
    except (urllib.error.URLError, OSError) as exc:
        why = getattr(exc, "reason", None) or exc
        raise TransientError(
            f"{url} cannot be reached ({why}): check the address and the network, or "
            "download the file yourself and run `ztbulk catalog load FILE`."
        ) from None
    if len(body) > max_bytes:
        raise CatalogError(f"{url} sent more than {max_bytes:,} bytes: it is not a device list.")
    return body


def fetch_catalog(settings: Settings, url: str | None = None) -> dict[str, Any]:
    """Download Google Play's supported-devices list into the registry's catalogue, together
    with the packaged list (so that a file that checked clean before still does). The registry
    is opened only once the list is downloaded and read."""
    url = url or settings.catalog_url
    if not Path(settings.db).exists():
        raise UsageError(f"No registry at {settings.db}; create one with `ztbulk registry init`.")
    body = download(url)
    fetched = Catalog.from_bytes(body, url)
    full = Catalog.packaged().merged(fetched, url)
    with open_when_free(settings.db, settings.duckdb_memory, CHECK_WAIT_S) as reg:
        models = RegistryService(reg).load_catalog(full)
    return {
        "url": url,
        "bytes": len(body),
        "registry": str(settings.db),
        "manufacturers": full.manufacturer_keys.len(),
        "models": models,
        "from_url": fetched.pair_keys.len(),
    }


def registry_catalog(settings: Settings, *, required: bool) -> Catalog | None:
    """The registry's catalogue for `check`: None when there is no registry file or it holds
    none, unless `required` (the user named the registry with --db)."""
    if not required and not Path(settings.db).exists():
        return None
    with open_when_free(settings.db, settings.duckdb_memory, CHECK_WAIT_S) as reg:
        svc = RegistryService(reg)
        if not required and not svc.has_catalog():
            return None
        return svc.catalog()
