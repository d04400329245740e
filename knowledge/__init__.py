"""Content and domain: settings, storage, ingestion of regulations, duty rules and the hazard ledger."""
