"""`explain`: why one address is or is not sendable on each list of a run, as data and in words."""

from listhygiene.outputs.explain.query import explain
from listhygiene.outputs.explain.render import as_text

__all__ = ["as_text", "explain"]
