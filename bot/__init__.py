"""Front ends of the advisor: the command line, the terminal chat and Telegram."""
