"""Reading inputs: files of every format into canonical rows, validated, normalized, or quarantined."""

from listhygiene.addresses import normalize_address, normalize_addresses
from listhygiene.ingest.platforms import read_platform, read_source_batches
from listhygiene.ingest.reading import ReadResult, file_sha256, read_batches, read_input
from listhygiene.ingest.validation import ValidationReport, validate_inputs

__all__ = [
    "ReadResult",
    "ValidationReport",
    "file_sha256",
    "normalize_address",
    "normalize_addresses",
    "read_batches",
    "read_input",
    "read_platform",
    "read_source_batches",
    "validate_inputs",
]
