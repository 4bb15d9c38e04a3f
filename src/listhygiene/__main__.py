"""`python -m listhygiene`: the command line."""

from listhygiene.cli import main

main()
