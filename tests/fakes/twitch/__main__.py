from tests.fakes.twitch.cli import main

main()
