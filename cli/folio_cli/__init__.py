"""``folio``: translate books and manage translation jobs through the Folio gateway."""
