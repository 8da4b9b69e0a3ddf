"""The session log's parts; use them through :mod:`assistant.log`."""
