"""Erasure on request: `forget`, the keyed-hash tombstones it leaves, and what loading does with them.

docs/privacy.md says what is kept, what is erased, where the key lives and how to rotate it.
"""

from listhygiene.privacy.keys import Keyring, keyring_for_forget, read_keyring
from listhygiene.privacy.tombstones import PSEUDONYM_PREFIX, NightGuard, night_guard

__all__ = [
    "PSEUDONYM_PREFIX",
    "Keyring",
    "NightGuard",
    "keyring_for_forget",
    "night_guard",
    "read_keyring",
]
