"""listhygiene: keep email lists clean and lawful, and say why contacts vanished."""

__version__ = "0.1.0"
