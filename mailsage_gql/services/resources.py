"""The process-wide resources the faces hand to services; built once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass

from mailsage_gql.crypto import Keyring
from mailsage_gql.settings import Settings


@dataclass
class Resources:
    settings: Settings
    keyring: Keyring
