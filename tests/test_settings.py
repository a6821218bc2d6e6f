"""Settings refuse to run production on the development secret and read proxy lists strictly."""

import pytest
from pydantic import SecretStr, ValidationError

from app.settings import DEV_JWT_SECRET, Settings


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
