from tests.fakes.youtube.cli import main

main()
