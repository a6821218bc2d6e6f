"""``python -m tests.fakes.stripe``: the fake on 127.0.0.1, for trying deposits with
``make run`` (``make fake-stripe``)."""

import argparse

import uvicorn

from tests.fakes.stripe.server import FakeStripe


def platform_webhook_url() -> str:
    """Where the platform `make run` starts takes Stripe's events, from its own settings."""
    from app.settings import Settings

    return f"{Settings().public_url}/webhooks/stripe"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fakes.stripe",
        description="A fake Stripe (test mode) on 127.0.0.1 for local demos.",
    )
    parser.add_argument("--port", type=int, default=12111)
    parser.add_argument(
        "--webhook-url",
        help="where to POST signed events (default: the platform's, from its settings:"
        " STREAMPOOLS_PUBLIC_URL, or STREAMPOOLS_HOST and STREAMPOOLS_PORT)",
    )
    parser.add_argument("--webhook-secret", help="the endpoint's signing secret (whsec_...)")
    parser.add_argument("--api-key", help="accept only this sk_test_ key (default: any)")
    args = parser.parse_args(argv)
    if args.webhook_url is not None and args.webhook_secret is None:
        parser.error("--webhook-url needs --webhook-secret")
    if args.webhook_secret is not None and args.webhook_url is None:
        args.webhook_url = platform_webhook_url()
    public_url = f"http://127.0.0.1:{args.port}"
    fake = FakeStripe(
        public_url=public_url,
        api_key=args.api_key,
        webhook_url=args.webhook_url,
        webhook_secret=args.webhook_secret,
        log=lambda line: print(f"[fake stripe] {line}", flush=True),
    )
    print(f"[fake stripe] API on {public_url} (API version {fake.api_version})", flush=True)
    print(
        f"[fake stripe] point the app at it: STREAMPOOLS_STRIPE_API_BASE={public_url} "
        f"STREAMPOOLS_STRIPE_SECRET_KEY={args.api_key or 'sk_test_anything'}"
        + (
            f" STREAMPOOLS_STRIPE_WEBHOOK_SECRET={args.webhook_secret}"
            if args.webhook_secret
            else ""
        ),
        flush=True,
    )
    if args.webhook_url:
        print(f"[fake stripe] events go to {args.webhook_url}", flush=True)
    else:
        print("[fake stripe] no webhook endpoint: events are kept, not delivered", flush=True)
    print(
        f"[fake stripe] pay a session: open {public_url}/pay/<session id> "
        "(?outcome=delayed|cancel); refund, dispute, expire: "
        f"POST {public_url}/_fake/sessions/<id>/refund|dispute|expire",
        flush=True,
    )
    uvicorn.run(fake, host="127.0.0.1", port=args.port, log_level="warning")
