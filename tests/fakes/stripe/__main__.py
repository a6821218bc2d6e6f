from tests.fakes.stripe.cli import main

main()
