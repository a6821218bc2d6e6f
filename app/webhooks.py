"""Which domain handles each webhook vendor's events: registered with the inbox here, in one
place, so that the inbox imports no domain. The web process (app.asgi) and the worker
(workers.settings) both call ``register_inbox_handlers`` as they start."""

from app.inbox.service import inbox_service
from app.payment.service import payment_service
from app.stream.service import stream_service


def register_inbox_handlers() -> None:
    inbox_service.register("stripe", payment_service.handle_stripe_event)
    inbox_service.register("twitch", stream_service.handle_twitch)
    inbox_service.register("kick", stream_service.handle_kick)
    inbox_service.register("youtube", stream_service.handle_youtube)
