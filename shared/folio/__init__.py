"""Folio service kit: the infrastructure every Folio service shares.

Business logic never lives here. If two services would otherwise carry the same
infrastructure code (settings, telemetry, messaging, identity, storage, health, errors,
logging), it belongs in this package.
"""
