"""Settings: production refuses the development secret; proxy lists are read strictly; every
public URL derives from one."""

import pytest
from pydantic import SecretStr, ValidationError

from app.settings import DEV_JWT_SECRET, Settings
from tests.fakes.stripe import platform_webhook_url


def test_production_refuses_the_development_jwt_secret() -> None:
    with pytest.raises(ValidationError, match="STREAMPOOLS_JWT_SECRET"):
        Settings(env="production", jwt_secret=SecretStr(DEV_JWT_SECRET))
    with pytest.raises(ValidationError, match="at least 32"):
        Settings(env="production", jwt_secret=SecretStr("short"))
    ready = Settings(env="production", jwt_secret=SecretStr("0123456789abcdef" * 4))
    assert ready.env == "production"


def test_trusted_proxies_read_as_uvicorn_or_as_json_and_typos_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings().trusted_proxies == ["127.0.0.1", "::1"]
    monkeypatch.setenv("STREAMPOOLS_TRUSTED_PROXIES", "10.0.0.0/8, 172.16.0.1")
    assert Settings().trusted_proxies == ["10.0.0.0/8", "172.16.0.1"]
    monkeypatch.setenv("STREAMPOOLS_TRUSTED_PROXIES", '["fd00::/8"]')
    assert Settings().trusted_proxies == ["fd00::/8"]
    monkeypatch.setenv("STREAMPOOLS_TRUSTED_PROXIES", "10.0.0.256")
    with pytest.raises(ValidationError, match=r"10\.0\.0\.256"):
        Settings()


@pytest.fixture(autouse=True)
def _no_url_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PUBLIC_URL", "HOST", "PORT", "CORS_ORIGINS", "CHECKOUT_SUCCESS_URL"):
        monkeypatch.delenv(f"STREAMPOOLS_{name}", raising=False)


def test_every_public_url_follows_the_port() -> None:
    moved = Settings(port=8130)
    assert moved.public_url == "http://127.0.0.1:8130"
    assert moved.checkout_success_url == "http://127.0.0.1:8130/deposit/success"
    assert moved.checkout_cancel_url == "http://127.0.0.1:8130/deposit/cancel"
    # On loopback a browser may open it by any of the machine's names.
    assert moved.cors_origins == [
        "http://127.0.0.1:8130",
        "http://localhost:8130",
        "http://[::1]:8130",
    ]
    # Listening on every interface still hands out an address a browser can open.
    assert Settings(host="0.0.0.0", port=9000).public_url == "http://127.0.0.1:9000"  # noqa: S104
    assert Settings(host="::1", port=9000).public_url == "http://[::1]:9000"


def test_every_public_url_follows_public_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STREAMPOOLS_PUBLIC_URL", "https://pools.example.com/")
    hosted = Settings()
    assert hosted.public_url == "https://pools.example.com"
    assert hosted.checkout_success_url == "https://pools.example.com/deposit/success"
    assert hosted.checkout_cancel_url == "https://pools.example.com/deposit/cancel"
    assert hosted.cors_origins == ["https://pools.example.com"]


def test_explicit_urls_win_over_derived_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STREAMPOOLS_CORS_ORIGINS", '["https://app.example.com"]')
    monkeypatch.setenv("STREAMPOOLS_CHECKOUT_SUCCESS_URL", "https://app.example.com/thanks")
    settings = Settings(public_url="https://api.example.com")
    assert settings.cors_origins == ["https://app.example.com"]
    assert settings.checkout_success_url == "https://app.example.com/thanks"
    assert settings.checkout_cancel_url == "https://api.example.com/deposit/cancel"
    assert Settings(cors_origins=[]).cors_origins == []


def test_the_local_fake_of_stripe_calls_the_platform_where_it_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`make fake-stripe` beside `STREAMPOOLS_PORT=8130 make run` sends its webhooks there."""
    monkeypatch.setenv("STREAMPOOLS_PORT", "8130")
    assert platform_webhook_url() == "http://127.0.0.1:8130/webhooks/stripe"


def test_web_processes_share_the_cores_for_password_hashes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 8)
    assert Settings().web_processes == 8
    assert Settings().password_hash_concurrency == 1
    assert Settings(web_processes=1).password_hash_concurrency == 8
    assert Settings(web_processes=3).password_hash_concurrency == 2
    assert Settings(web_processes=16).password_hash_concurrency == 1
    assert Settings(web_processes=2, password_hash_concurrency=6).password_hash_concurrency == 6
