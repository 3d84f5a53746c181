"""What a detainee number (numéro d'écrou) and an access code are: one rule for the desk, the
CSV import, the ledger and the OpenAPI document.

Both are ASCII. ``str.isalnum()``/``str.isdigit()`` and the regex ``\\d`` also accept ``É``,
``²`` or Arabic-Indic digits (``١٢٣٤``): the desk once created such a detainee, and the ledger,
which only knows ASCII, could then never credit them.
"""

from __future__ import annotations

import re

DETAINEE_NUMBER_MAX = 20
ACCESS_CODE_MIN = 4
ACCESS_CODE_MAX = 8

DETAINEE_NUMBER_PATTERN = "^[A-Za-z0-9]+$"
"The JSON Schema pattern (with ``maxLength`` :data:`DETAINEE_NUMBER_MAX`)."
ACCESS_CODE_PATTERN = f"^[0-9]{{{ACCESS_CODE_MIN},{ACCESS_CODE_MAX}}}$"

_NUMBER = re.compile(f"[A-Za-z0-9]{{1,{DETAINEE_NUMBER_MAX}}}")
_CODE = re.compile(f"[0-9]{{{ACCESS_CODE_MIN},{ACCESS_CODE_MAX}}}")


def is_detainee_number(value: object) -> bool:
    """1 to 20 ASCII letters or digits."""
    return isinstance(value, str) and _NUMBER.fullmatch(value) is not None


def is_access_code(value: object) -> bool:
    """4 to 8 ASCII digits."""
    return isinstance(value, str) and _CODE.fullmatch(value) is not None
