"""`python -m cli`: the same as the `kplane` executable."""

from cli.main import main

main()
