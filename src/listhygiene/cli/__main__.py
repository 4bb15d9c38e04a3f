"""`python -m listhygiene.cli`: the command line."""

from listhygiene.cli import main

main()
