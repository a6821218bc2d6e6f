"""Settings refuse to run production on the development secret."""

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
