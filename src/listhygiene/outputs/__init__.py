"""What a run gives people: the published Parquet files, `explain` of one address, `clean` of an audience."""

from listhygiene.outputs.clean import CleanResult, clean
from listhygiene.outputs.explain import explain
from listhygiene.outputs.publish import write_manifest, write_outputs

__all__ = ["CleanResult", "clean", "explain", "write_manifest", "write_outputs"]
