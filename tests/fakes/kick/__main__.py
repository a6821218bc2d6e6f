from tests.fakes.kick.cli import main

main()
