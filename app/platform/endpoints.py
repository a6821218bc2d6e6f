"""/api/v1/auth/twitch, /kick and /youtube: sign in with a stream platform, link it to an
account, a channel or the chat bot (one controller per platform, built from one definition);
/api/v1/platforms: which platforms this server has an app for."""

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import JSONBody, QueryParameter
from litestar.response import Redirect
from litestar.status_codes import HTTP_200_OK, HTTP_303_SEE_OTHER
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.tokens import Principal
from app.kit.http import client_address
from app.kit.openapi import error_responses
from app.kit.resources import Resources
from app.models.channel import Platform
from app.platform.oauth import (
    PROVIDERS,
    STATE_TTL_SECONDS,
    binding_cookie,
    cookie_path,
    platform_sign_in_service,
)
from app.platform.schemas import (
    PlatformAppList,
    SignInAuthorization,
    SignInResult,
    SignInStart,
)

Text = Annotated[str | None, QueryParameter(max_length=2048)]


def sign_in_controller(platform: Platform) -> type[Controller]:
    """The sign-in endpoints of ``platform`` (``/api/v1/auth/<platform>/start`` and
    ``.../callback``, the redirect URI registered with the platform's app)."""
    name = PROVIDERS[platform].name
    cookie = binding_cookie(platform)

    class SignInController(Controller):
        path = cookie_path(platform)
        tags = ["auth"]

        @post(
            "/start",
            status_code=HTTP_200_OK,
            responses=error_responses(401, 403, 429),
            operation_id=f"{platform.value}SignInStart",
            summary=f"Start a sign-in with {name}",
            description=f"Send the browser to `authorize_url`. Purposes: `sign_in` (anyone:"
            " signs in, or creates an account), `link_account` (signed in: adds the"
            f" {name} account to yours), `link_channel` (the channel's owner, with"
            " `channel_id`: a verified link and the broadcaster's grant), `bot` (platform"
            f" admins: the chat bot's account). Sets the `{cookie}` cookie that binds the"
            " sign-in to this browser: keep it (call with credentials), the callback refuses"
            " a sign-in without it.",
        )
        async def start(
            self,
            data: JSONBody[SignInStart],
            session: NamedDependency[AsyncSession],
            resources: NamedDependency[Resources],
            optional_principal: NamedDependency[Principal | None],
            request: Request[Any, Any, Any],
        ) -> Response[SignInAuthorization]:
            started = await platform_sign_in_service.start(
                session,
                resources,
                platform,
                optional_principal,
                data,
                request.cookies.get(cookie),
                client_address(request),
            )
            secure = resources.settings.public_url.startswith("https://")
            binding = Cookie(
                key=cookie,
                value=started.binding,
                path=cookie_path(platform),
                max_age=STATE_TTL_SECONDS,
                httponly=True,
                secure=secure,
                samesite="lax",
            )
            return Response(started.authorization, cookies=[binding])

        @get(
            "/callback",
            status_code=HTTP_200_OK,
            operation_id=f"{platform.value}SignInCallback",
            summary=f"Where {name} sends the browser back",
            description=f"The redirect URI registered with the {name} app. Finishes the"
            " sign-in once: 400 `oauth_state_invalid` for an unknown, expired, reused or other"
            " browser's `state`; `oauth_denied` when the user declined"
            f" (`error=access_denied`); `oauth_code_refused` when {name} refused the code."
            " Without a `return_to` it answers what it did in JSON (the session for"
            " `sign_in`).",
            responses={
                200: ResponseSpec(
                    SignInResult,
                    description="What the sign-in did (it named no `return_to`).",
                    generate_examples=False,
                ),
                303: ResponseSpec(
                    None,
                    description="The sign-in named a `return_to`: the browser goes back there"
                    " with the outcome in the URL fragment: `access_token`, `refresh_token`,"
                    " `expires_in`, `token_type` for `sign_in`; `link_id` for"
                    " `link_channel`; `purpose` and `login` always; or `error` and"
                    " `error_description`.",
                    generate_examples=False,
                ),
                **error_responses(400, 403, 409, 502),
            },
        )
        async def callback(
            self,
            session: NamedDependency[AsyncSession],
            resources: NamedDependency[Resources],
            request: Request[Any, Any, Any],
            oauth_state: Annotated[
                str | None, QueryParameter(name="state", max_length=2048)
            ] = None,
            code: Text = None,
            error: Text = None,
            error_description: Text = None,
        ) -> Response[Any]:
            finished = await platform_sign_in_service.finish(
                session,
                resources,
                platform,
                state=oauth_state,
                code=code,
                error=error,
                error_description=error_description,
                binding=request.cookies.get(cookie),
            )
            if finished.redirect_to is not None:
                return Redirect(
                    finished.redirect_to,
                    status_code=HTTP_303_SEE_OTHER,
                    headers={"Cache-Control": "no-store"},
                )
            return Response(finished.result, headers={"Cache-Control": "no-store"})

    SignInController.__name__ = SignInController.__qualname__ = f"{name}AuthController"
    return SignInController


TwitchAuthController = sign_in_controller(Platform.twitch)
KickAuthController = sign_in_controller(Platform.kick)
YouTubeAuthController = sign_in_controller(Platform.youtube)


class PlatformController(Controller):
    path = "/api/v1/platforms"
    tags = ["platforms"]

    @get("")
    async def platforms(self, resources: NamedDependency[Resources]) -> PlatformAppList:
        """Twitch, Kick and YouTube, each with ``configured``: whether this server has the
        platform's app, so that signing in and linking with it work (public)."""
        return platform_sign_in_service.apps(resources.settings)
