"""What can go wrong with a secret store, drawn once.

::

    SecretStoreError
    ├── SecretStoreConfigError   settings cannot work (default master key, no Vault credentials)
    ├── InvalidSecret            a tenant id or name outside its pattern, an empty or huge value
    ├── UnknownTenant            the embedded table refused a secret for a tenant that is not there
    ├── SecretUnreadable         a sealed value does not open (other master key, moved row)
    ├── VaultUnavailable         Vault cannot be reached or failed (5xx, sealed, timeout): retry
    └── VaultDenied              Vault refused our credentials even after a fresh login: no retry

No message ever holds a secret value, a Vault token or an AppRole secret id.
"""

from __future__ import annotations


class SecretStoreError(Exception):
    """Base class of every secret store error."""


class SecretStoreConfigError(SecretStoreError):
    """The settings cannot give a working store; the message names the variable to fix."""


class InvalidSecret(SecretStoreError, ValueError):
    """A tenant id or secret name that does not match its pattern, or an unusable value."""


class UnknownTenant(SecretStoreError):
    """The tenant a secret was stored for does not exist."""


class SecretUnreadable(SecretStoreError):
    """A stored value does not decrypt with this master key in this row."""


class VaultUnavailable(SecretStoreError):
    """HashiCorp Vault could not answer (network, timeout, sealed, server error)."""


class VaultDenied(SecretStoreError):
    """HashiCorp Vault refused the configured token or AppRole credentials."""
