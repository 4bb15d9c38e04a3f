"""Deterministic synthetic inputs for demos and benchmarks: nightly contacts exports, event logs, a pipeline file."""

from listhygiene.synth.description import Night, WrittenFile
from listhygiene.synth.spec import GENERATOR_VERSION, SynthSpec
from listhygiene.synth.writing import generate

__all__ = ["GENERATOR_VERSION", "Night", "SynthSpec", "WrittenFile", "generate"]
