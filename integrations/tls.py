"""One TLS context for every outbound HTTP client of the process. Building one loads the
certificate authorities' bundle (some 40 ms of CPU); clients made per job (a chat flush, a
token refresh) share this one instead, as the SSL module allows."""

import functools
import ssl

import httpx


@functools.cache
def client_context() -> ssl.SSLContext:
    """The process's verifying TLS context, as httpx builds it by default (certifi's bundle,
    or ``SSL_CERT_FILE``/``SSL_CERT_DIR`` when set)."""
    return httpx.create_ssl_context()
