"""The pure core of the outsourcing advisor: the flow as data (`flow/`), the conversation
engine, the advice rules and the report every front end renders. No Telegram, SQL, clock or
printing in here."""
