"""What a run gives people: the published Parquet files. `explain` of one address and `clean` of an
audience are the subpackage `outputs.explain` and the module `outputs.clean`, imported by their
commands only (clean reads files through the ingest readers; explain must start quickly)."""

from listhygiene.outputs.publish import write_manifest, write_outputs

__all__ = ["write_manifest", "write_outputs"]
