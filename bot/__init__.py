"""The service and the front ends: `service.py` is the one door into the advisor (with
`consulting.py` and `housekeeping.py`); Telegram (`telegram/`), the terminal chat
(`terminal.py`) and the command line (`cli.py`, `operators.py`) go through it and never
import storage or the engine."""
