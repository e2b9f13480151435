"""The memory of confirmed homonyms: ONDE reference -> IntraScol login, as JSON text.

Pure: the adapter reads and writes the file (`.reconcile-onde.json`, mode 0600); this
module only turns its text into pairs and back. Standard library only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from reconcile.core.errors import OndeError
from reconcile.core.onde_extraction import OndePupil

MEMORY_FILE_NAME = ".reconcile-onde.json"
_MEMORY_VERSION = 1


@dataclass
class Memory:
    """Confirmed pairs ONDE reference (INE, else names and birth date) -> IntraScol login.

    Kept in `.reconcile-onde.json` beside the workbook, so that next year's homonyms
    are matched exactly. Plain JSON, readable and editable by hand.
    """

    pairs: dict[str, dict[str, str]] = field(default_factory=dict)

    def logins(self) -> dict[str, str]:
        return {reference: entry["identifiant"] for reference, entry in self.pairs.items()}

    def remember(self, onde: OndePupil, login: str, when: str) -> bool:
        """Record a pair; True when it changed the memory."""
        entry = {
            "identifiant": login,
            "nom": onde.last_name,
            "prenom": onde.first_name,
            "confirme_le": when,
        }
        current = self.pairs.get(onde.reference)
        if current and current.get("identifiant") == login:
            return False
        self.pairs[onde.reference] = entry
        return True

    def to_json(self) -> str:
        data = {
            "version": _MEMORY_VERSION,
            "description": (
                "Mémoire de reconcile onde : élèves homonymes dont la correspondance ONDE ↔ IntraScol "
                "a été confirmée (INE, ou nom|prénom|date de naissance, -> identifiant IntraScol)."
            ),
            "correspondances": dict(sorted(self.pairs.items())),
        }
        return json.dumps(data, ensure_ascii=False, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str) -> Memory:
        try:
            data = json.loads(text)
            pairs = data["correspondances"]
            if not isinstance(pairs, dict) or not all(
                isinstance(v, dict) and isinstance(v.get("identifiant"), str) for v in pairs.values()
            ):
                raise ValueError
        except (ValueError, KeyError, TypeError):
            raise OndeError(
                f"Le fichier mémoire {source} est illisible. Corrigez-le ou supprimez-le "
                "(les homonymes seront alors à confirmer de nouveau)."
            ) from None
        return cls({str(k): {str(a): str(b) for a, b in v.items()} for k, v in pairs.items()})
