"""The hazard ledger in chat: commands and buttons (``chat``), guided steps (``flows``), the calls into
the ledger service (``ops``), evidence files (``files``), shared helpers and texts (``common``, ``text``)."""
