"""The fake Stripe's former single module, now the package ``tests.fakes.stripe``: its names,
and ``python -m tests.fakes.stripe_server`` as an alias of ``python -m tests.fakes.stripe``."""

from tests.fakes.stripe import *  # noqa: F403
from tests.fakes.stripe import __all__ as __all__
from tests.fakes.stripe.cli import main

if __name__ == "__main__":
    main()
