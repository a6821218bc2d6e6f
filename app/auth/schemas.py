"""Request and response bodies of sign-up and sign-in."""

from typing import Annotated

import msgspec

from app.kit.schema import Input, Output
from app.user.schemas import UserProfile

Email = Annotated[
    str,
    msgspec.Meta(
        min_length=3,
        max_length=320,
        pattern=r"^[^@\s]+@[^@\s]+\.[^@\s.]+$",
        description="An email address.",
    ),
]
Password = Annotated[
    str, msgspec.Meta(min_length=10, max_length=128, description="10 to 128 characters.")
]
DisplayName = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"\S")]
OpaqueToken = Annotated[str, msgspec.Meta(min_length=1, max_length=512)]


class Register(Input):
    email: Email
    password: Password
    display_name: DisplayName


class Login(Input):
    email: Annotated[str, msgspec.Meta(min_length=1, max_length=320)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]


class Refresh(Input):
    refresh_token: OpaqueToken


class Logout(Input):
    refresh_token: OpaqueToken


class AuthSession(Output):
    user: UserProfile
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "Bearer"  # noqa: S105
